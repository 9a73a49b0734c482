import Foundation

/// The invitation latency for the Prometheus textfile: a histogram over the invitations the last run confirmed.
/// Pure; the metrics file appends its lines (`Store.inviteLatencies(runId:)` gives the latencies).
public enum FunnelMetrics {
    /// The histogram's upper bounds in seconds (30 s … 1 day); `+Inf` is added.
    public static let latencyBuckets: [Double] = [30, 60, 120, 300, 600, 1800, 3600, 21_600, 86_400]

    /// Exposition lines (HELP, TYPE, cumulative `_bucket{le=…}`, `_sum`, `_count`) of
    /// `lever_hubert_sync_invite_latency_seconds` over `latencies` (seconds, any order), ending in a newline.
    /// No latencies give every bucket 0, `_sum 0` and `_count 0`.
    public static func latencyHistogram(latencies: [Double], buckets: [Double] = latencyBuckets) -> String {
        let name = "lever_hubert_sync_invite_latency_seconds"
        var lines = [
            "# HELP \(name) Application created in Lever to invitation confirmed by Hubert, over the last run's "
                + "invitations.",
            "# TYPE \(name) histogram",
        ]
        let values = latencies.filter { $0.isFinite }
        for bound in buckets.sorted() {
            lines.append("\(name)_bucket{le=\"\(format(bound))\"} \(values.filter { $0 <= bound }.count)")
        }
        lines.append("\(name)_bucket{le=\"+Inf\"} \(values.count)")
        lines.append("\(name)_sum \(format(values.reduce(0, +)))")
        lines.append("\(name)_count \(values.count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A number as Prometheus reads it: integers without a fraction, others with up to three decimals.
    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
