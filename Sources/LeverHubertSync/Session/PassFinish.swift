import Foundation
import Logging

extension PassSession {
    /// Writes the Prometheus textfile after a pass (atomically); a failure is logged, never fails the run.
    func writeMetrics(_ report: PassReport, requests: RequestLedger, to path: String, logger: Logger) async {
        do {
            let status = try await StatusReport.load(
                store: store, now: Date().millis, staleAfterDays: config.staleAfterDays)
            let previous = try? String(contentsOfFile: path, encoding: .utf8)
            let text =
                MetricsFile.render(
                    report: report, status: status, lastSuccess: try await store.lastSuccess(),
                    httpCounts: await requests.snapshot(), counters: try await store.counters(), previous: previous,
                    now: Date().millis)
                + FunnelMetrics.latencyHistogram(latencies: try await store.inviteLatencies(runId: report.runId))
            try MetricsFile.write(text, to: path)
        } catch {
            logger.warning("could not write the metrics file", metadata: ["error": "\(error)"])
        }
    }
}

extension PassReport {
    /// The exit status the pass ended with.
    public var status: ExitStatus { ExitStatus(reported: exitCode) }

    /// One line for a health-check body and logs: mode, exit, what was done, what failed.
    public var summaryLine: String {
        let c = counts
        var line =
            "\(mode) \(runId) exit \(exitCode): \(c.invitationsSent) invited, "
            + "\(c.resultsApplied) results written, \(problems.count) problems, \(c.failed) failed"
        if let message { line += " — \(message)" }
        return line
    }
}
