import Foundation

/// A Prometheus textfile-collector file written atomically at the end of every run (node_exporter's
/// `--collector.textfile.directory` picks it up). The last run's series carry a `mode` label (`run`, `backfill`)
/// and the series of the other modes already in the file are kept, so a manual backfill never replaces what the
/// cron run reported; dry runs write no file at all. Counters (`_total`) are cumulative over the database's life.
public enum MetricsFile {
    /// The file's text for one finished run. `previous`: the file as it was (its other modes' series are kept).
    public static func render(
        report: PassReport, status: StatusReport, lastSuccess: Millis?, httpCounts: [RequestCountKey: Int],
        counters: [String: Int] = [:], previous: String? = nil,
        now: Millis
    ) -> String {
        let kept = keptSeries(previous, mode: report.mode)
        var out: [String] = []
        func metric(
            _ name: String, _ help: String, _ type: String = "gauge", _ samples: [(labels: String, value: String)]
        ) {
            out.append("# HELP lever_hubert_sync_\(name) \(help)")
            out.append("# TYPE lever_hubert_sync_\(name) \(type)")
            for sample in samples { out.append("lever_hubert_sync_\(name)\(sample.labels) \(sample.value)") }
            out.append(contentsOf: kept[name] ?? [])
        }
        func seconds(_ ms: Millis) -> String { String(format: "%.3f", Double(ms) / 1000) }
        let modeLabel = "mode=\"\(report.mode)\",dry_run=\"\(report.dryRun)\""
        let mode = "{\(modeLabel)}"
        metric(
            "build_info", "The version of the tool that wrote this file (always 1).", "gauge",
            [("{version=\"\(ToolVersion.current)\"}", "1")])
        metric(
            "last_run_timestamp_seconds", "When the last run of this mode finished.", "gauge", [(mode, seconds(now))])
        if let lastSuccess {
            metric(
                "last_success_timestamp_seconds", "When the last run that exited 0 finished.", "gauge",
                [("", seconds(lastSuccess))])
        }
        metric(
            "last_run_duration_seconds", "How long the last run of this mode took.", "gauge",
            [(mode, seconds(report.durationMs))])
        metric(
            "last_run_exit_code", "Exit status of the last run of this mode (0, 75, 77, 78).", "gauge",
            [(mode, "\(report.exitCode)")])
        metric(
            "last_run_paused", "1 when the last run of this mode found the sync paused.", "gauge",
            [(mode, report.paused ? "1" : "0")])
        let counts = report.counts.named.map { ($0.name, $0.value) } + [("problems", report.problems.count)]
        metric(
            "last_run_items", "Items of the last run of this mode, by kind.", "gauge",
            counts.map { ("{\(modeLabel),kind=\"\($0.0)\"}", "\($0.1)") })
        metric(
            "last_run_http_responses", "HTTP responses of the last run of this mode, by service and status class.",
            "gauge",
            httpCounts.sorted { $0.key < $1.key }.map { key, value in
                ("{\(modeLabel),service=\"\(key.service.rawValue)\",class=\"\(key.statusClass)\"}", "\(value)")
            })
        for (name, help) in Self.counterNames {
            metric("\(name)_total", help, "counter", [("", "\(counters[name] ?? 0)")])
        }
        let runs = counters.filter { $0.key.hasPrefix("runs.") }.sorted { $0.key < $1.key }.map { key, value in
            let parts = key.split(separator: ".")
            return (
                "{mode=\"\(parts.count > 1 ? parts[1] : "")\",exit_code=\"\(parts.count > 2 ? parts[2] : "")\"}",
                "\(value)"
            )
        }
        metric("runs_total", "Runs recorded, by mode and exit status.", "counter", runs)
        metric(
            "checkpoint_lag_seconds", "Age of each stream's checkpoint.", "gauge",
            status.checkpoints.map { ("{stream=\"\($0.stream)\"}", "\($0.lagSeconds)") })
        metric(
            "pending_intents", "Writes recorded as intended whose outcome is not confirmed yet.", "gauge",
            [
                ("{kind=\"invitation\"}", "\(status.invitations.pending)"),
                ("{kind=\"result\"}", "\(status.resultsPending)"),
            ])
        let i = status.invitations
        metric(
            "invitations", "Invitations in the ledger, by state (stale: sent, no result after sync.staleAfterDays).",
            "gauge",
            [
                ("pending", i.pending), ("sent", i.sent), ("started", i.started), ("completed", i.completed),
                ("expired", i.expired), ("cancelled", i.cancelled), ("refused", i.refused), ("stale", i.stale),
            ]
            .map { ("{state=\"\($0.0)\"}", "\($0.1)") })
        metric(
            "results_given_up", "Write-backs given up after sync.giveUpAfterDays.", "gauge",
            [("", "\(status.resultsGivenUp)")])
        metric("open_problems", "Problems that need a human.", "gauge", [("", "\(status.problems.count)")])
        let rates = status.requestRates ?? []
        metric(
            "request_rate_per_second",
            "Request rate by service: the configured ceiling, and the rate the last pass learned (the next starts there).",
            "gauge",
            rates.flatMap { rate in
                [
                    (
                        "{service=\"\(rate.service)\",kind=\"configured\"}",
                        String(format: "%.3f", rate.configuredPerSecond)
                    ),
                    ("{service=\"\(rate.service)\",kind=\"learned\"}", String(format: "%.3f", rate.learnedPerSecond)),
                ]
            })
        metric(
            "throttled_responses_total",
            "Throttling answers (429, 503 with Retry-After) by service, over the database's life.",
            "counter", rates.map { ("{service=\"\($0.service)\"}", "\($0.throttledTotal)") })
        return out.joined(separator: "\n") + "\n"
    }

    /// The cumulative counters kept in the store, with their help text.
    public static let counterNames: [(String, String)] = PassCounts.fields.compactMap { field in
        field.lifetimeHelp.map { (field.name, $0) }
    }

    /// Sample lines of `previous` that belong to another mode, by metric name (without the prefix).
    static func keptSeries(_ previous: String?, mode: String) -> [String: [String]] {
        guard let previous else { return [:] }
        var kept: [String: [String]] = [:]
        let prefix = "lever_hubert_sync_"
        for line in previous.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let brace = line.firstIndex(of: "{"), line.contains("mode=\""),
                !line.contains("mode=\"\(mode)\""), !line.contains("exit_code=\"")
            else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: prefix.count)..<brace])
            kept[name, default: []].append(String(line))
        }
        return kept
    }

    /// Writes `text` to `path` atomically, mode 0644 (`AtomicFile`: a new temporary file beside it that no planted
    /// symlink or existing file can redirect, then rename). `temporaryName`: the temporary file's suffix (tests).
    public static func write(
        _ text: String, to path: String, temporaryName: () -> String = AtomicFile.uniqueSuffix
    ) throws {
        guard AtomicFile.write(Array(text.utf8), to: path, mode: 0o644, temporaryName: temporaryName) else {
            throw ConfigError("cannot write the metrics file \(path)")
        }
    }
}

/// Pings a healthchecks.io-style URL: `/start` when a run begins, the URL itself on success, `/<exit code>` on
/// failure. Best effort: a ping that fails is logged and never fails the run. The URL is never logged.
public struct HealthPing: Sendable {
    let url: Secret
    let transport: CurlTransport

    public init(url: Secret, caFile: String? = nil) {
        self.url = url
        var options = TransportOptions()
        options.totalTimeoutMs = 5_000
        options.connectTimeoutMs = 3_000
        options.caFile = caFile
        options.maxConcurrent = 1
        self.transport = CurlTransport(options: options)
    }

    /// Sends one ping, tagged with the run's id (`?rid=`, so a start and its finish pair up); the finish ping's
    /// body is the run's one-line summary. Returns whether it was answered with 2xx.
    @discardableResult
    public func ping(_ suffix: String?, runId: String? = nil, body: String = "") async -> Bool {
        let base = url.value.hasSuffix("/") ? String(url.value.dropLast()) : url.value
        var target = suffix.map { base + "/" + $0 } ?? base
        if let runId {
            var query = QueryString()
            query.add("rid", runId)
            target += (target.contains("?") ? "&" : "?") + query.encoded
        }
        let request = HTTPRequestMessage(
            method: .post, url: target,
            headers: [(name: "Content-Type", value: "text/plain; charset=utf-8")],
            body: Data(body.utf8))
        let response = try? await transport.send(request)
        return response.map { (200..<300).contains($0.status) } ?? false
    }

    /// The suffix for a finished run.
    public static func suffix(exitCode: Int32) -> String? { exitCode == 0 ? nil : String(exitCode) }
}
