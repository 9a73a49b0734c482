import Foundation

/// A Prometheus textfile-collector file written atomically at the end of every run (node_exporter's
/// `--collector.textfile.directory` picks it up).
public enum MetricsFile {
    /// The file's text for one finished run.
    public static func render(report: PassReport, status: StatusReport, lastSuccess: Millis?, httpCounts: [String: Int],
                              now: Millis) -> String {
        var out: [String] = []
        func metric(_ name: String, _ help: String, _ type: String = "gauge", _ samples: [(labels: String, value: String)]) {
            out.append("# HELP lever_hubert_sync_\(name) \(help)")
            out.append("# TYPE lever_hubert_sync_\(name) \(type)")
            for sample in samples { out.append("lever_hubert_sync_\(name)\(sample.labels) \(sample.value)") }
        }
        func seconds(_ ms: Millis) -> String { String(format: "%.3f", Double(ms) / 1000) }
        let mode = "{mode=\"\(report.mode)\",dry_run=\"\(report.dryRun)\"}"
        metric("build_info", "The version of the tool that wrote this file (always 1).", "gauge",
               [("{version=\"\(ToolVersion.current)\"}", "1")])
        metric("last_run_timestamp_seconds", "When the last run finished.", "gauge", [(mode, seconds(now))])
        if let lastSuccess {
            metric("last_success_timestamp_seconds", "When the last run that exited 0 finished.", "gauge", [("", seconds(lastSuccess))])
        }
        metric("last_run_duration_seconds", "How long the last run took.", "gauge", [(mode, seconds(report.durationMs))])
        metric("last_run_exit_code", "Exit status of the last run (0, 75, 77, 78).", "gauge", [(mode, "\(report.exitCode)")])
        metric("last_run_paused", "1 when the last run found the sync paused.", "gauge", [("", report.paused ? "1" : "0")])
        let c = report.counts
        let counts: [(String, Int)] = [
            ("postings_scanned", c.postingsScanned), ("opportunities_scanned", c.opportunitiesScanned),
            ("invitations_sent", c.invitationsSent), ("results_applied", c.resultsApplied), ("tags_added", c.tagsAdded),
            ("tags_removed", c.tagsRemoved), ("notes_added", c.notesAdded), ("links_added", c.linksAdded),
            ("stage_moves", c.stageMoves), ("skipped", c.skipped), ("failed", c.failed), ("problems", report.problems.count),
        ]
        metric("last_run_items", "Items of the last run, by kind.", "gauge", counts.map { ("{kind=\"\($0.0)\"}", "\($0.1)") })
        metric("last_run_http_responses", "HTTP responses of the last run, by service and status class.", "gauge",
               httpCounts.sorted { $0.key < $1.key }.map { key, value in
                   let parts = key.split(separator: "|")
                   return ("{service=\"\(parts.first ?? "")\",class=\"\(parts.last ?? "")\"}", "\(value)")
               })
        metric("checkpoint_lag_seconds", "Age of each stream's checkpoint.", "gauge",
               status.checkpoints.map { ("{stream=\"\($0.stream)\"}", "\($0.lagSeconds)") })
        metric("pending_intents", "Writes recorded as intended whose outcome is not confirmed yet.", "gauge", [
            ("{kind=\"invitation\"}", "\(status.invitations.pending)"), ("{kind=\"result\"}", "\(status.resultsPending)"),
        ])
        metric("invitations", "Invitations in the ledger, by state.", "gauge", [
            ("{state=\"sent\"}", "\(status.invitations.sent)"), ("{state=\"started\"}", "\(status.invitations.started)"),
            ("{state=\"completed\"}", "\(status.invitations.completed)"), ("{state=\"expired\"}", "\(status.invitations.expired)"),
            ("{state=\"refused\"}", "\(status.invitations.refused)"), ("{state=\"stale\"}", "\(status.invitations.stale)"),
        ])
        metric("open_problems", "Problems that need a human.", "gauge", [("", "\(status.problems.count)")])
        return out.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to `path` atomically (a temporary file in the same directory, then rename).
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        try Data(text.utf8).write(to: tmp)
        chmod(tmp.path, 0o644)
        guard rename(tmp.path, path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
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
        let request = HTTPRequestMessage(method: .post, url: target,
                                         headers: [(name: "Content-Type", value: "text/plain; charset=utf-8")],
                                         body: Data(body.utf8))
        let response = try? await transport.send(request)
        return response.map { (200..<300).contains($0.status) } ?? false
    }

    /// The suffix for a finished run.
    public static func suffix(exitCode: Int32) -> String? { exitCode == 0 ? nil : String(exitCode) }
}
