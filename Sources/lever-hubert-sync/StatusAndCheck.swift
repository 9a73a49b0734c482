import Foundation
import LeverHubertSync

/// `status`: reads the store only.
enum StatusRunner {
    static func execute(common: CommonOptions, html: String? = nil, since: Millis? = nil) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        let path: String
        let staleAfterDays: Int
        do {
            let file = try ConfigLoader.loadFile(path: common.config, environment: env)
            path = try ConfigLoader.databasePath(file, databaseOverride: common.database, environment: env)
            staleAfterDays = ConfigLoader.staleAfterDays(file)
        } catch {
            return Bootstrap.fail(common, code: ExitStatus.configuration.code, message: "\(error)", mode: "status")
        }
        do {
            // No database yet means nothing has run: an empty status, not an error (and nothing is created).
            let store = FileManager.default.fileExists(atPath: path) ? try Store(path: path) : try Store()
            let now = Date().millis
            let report = try await StatusReport.load(
                store: store, now: now, staleAfterDays: staleAfterDays, since: since)
            if let html {
                do {
                    try FunnelPage.write(FunnelPage.render(report, now: now), to: html)
                } catch {
                    return Bootstrap.fail(
                        common, code: ExitStatus.configuration.code, message: "\(error)", mode: "status")
                }
            }
            if common.json { Output.json(report) } else { print(StatusText.render(report)) }
            return 0
        } catch {
            return Bootstrap.fail(
                common, code: ExitStatus.temporary.code, message: "cannot read the database \(path): \(error)",
                mode: "status")
        }
    }
}

enum StatusText {
    static func render(_ report: StatusReport) -> String {
        var lines: [String] = ["Checkpoints"]
        if report.checkpoints.isEmpty { lines.append("  (none yet)") }
        for c in report.checkpoints {
            lines.append(
                "  \(c.stream.padding(toLength: 22, withPad: " ", startingAt: 0)) \(c.at)  lag \(c.lagSeconds)s")
        }
        let i = report.invitations
        lines.append("Invitations")
        lines.append(
            "  sent \(i.sent)  started \(i.started)  completed \(i.completed)  expired \(i.expired)  cancelled \(i.cancelled)  refused \(i.refused)  unconfirmed \(i.pending)  stale \(i.stale)"
        )
        lines.append("Results not yet written back: \(report.resultsPending)")
        lines.append("Problems needing a human (\(report.problems.count))")
        for p in report.problems { lines.append("  [\(p.reason)] \(p.message)\(p.leverURL.map { "  \($0)" } ?? "")") }
        if let rates = report.requestRates, !rates.isEmpty {
            lines.append("Request rates (the next pass starts from the learned rate)")
            for r in rates {
                let learned = String(format: "%.2f/s", r.learnedPerSecond)
                let configured = String(format: "%.2f/s", r.configuredPerSecond)
                lines.append(
                    "  \(r.service.padding(toLength: 8, withPad: " ", startingAt: 0)) learned \(learned) of \(configured)  429s: last run \(r.throttledLastRun), total \(r.throttledTotal)"
                )
            }
        }
        lines.append("Last runs")
        for r in report.runs {
            let c = r.counts
            lines.append(
                "  \(r.startedAt) \(r.kind.padding(toLength: 8, withPad: " ", startingAt: 0)) exit \(r.exitCode.map(String.init) ?? "-")  invited \(c?.invitationsSent ?? 0)  results \(c?.resultsApplied ?? 0)  failed \(c?.failed ?? 0)  requests L\(r.requests.lever)/H\(r.requests.hubert)\(r.message.map { "  \($0)" } ?? "")"
            )
        }
        return lines.joined(separator: "\n")
    }
}

/// `check`: read-only validation against both services, or (`--offline`) of the file and environment alone.
enum CheckRunner {
    static func execute(common: CommonOptions, offline: Bool) async -> Int32 {
        let logger = Bootstrap.logger(common)
        let environment = ProcessInfo.processInfo.environment
        let config: AppConfig
        var warnings: [String] = []
        let (path, database) = (common.config, common.database)
        do {
            (config, warnings) =
                offline
                ? try ConfigLoader.loadOffline(path: path, databaseOverride: database, environment: environment)
                : try ConfigLoader.load(path: path, databaseOverride: database, environment: environment)
        } catch {
            let failed = CheckReport.Item(name: "configuration", ok: false, detail: "\(error)")
            return finish(common, CheckReport(items: [failed], exitCode: ExitStatus.configuration.code))
        }
        let summary = offline ? "valid (offline: no request made)" : "loaded"
        let loaded =
            [CheckReport.Item(name: "configuration", status: .ok, detail: summary)]
            + warnings.map { CheckReport.Item(name: "configuration warning", status: .warn, detail: $0) }
        if offline {
            return finish(common, CheckReport(items: loaded, exitCode: 0, configuration: config.effective()))
        }
        // No run lock: a refresh of Lever's rotating OAuth token is guarded by the token file's own lock (and the
        // file re-read under it), so check neither waits for a pass nor creates a file beside the database.
        let runtime = SyncRuntime(config: config, logger: logger)
        let report = await Checker(runtime: runtime, warnings: warnings).run()
        return finish(common, report)
    }

    /// Prints the report (JSON or the checklist) and returns its exit status.
    static func finish(_ common: CommonOptions, _ report: CheckReport) -> Int32 {
        if common.json { Output.json(report) } else { print(CheckText.render(report)) }
        return report.exitCode
    }
}

enum CheckText {
    static func render(_ report: CheckReport) -> String {
        var lines = report.items.map { item in
            let mark =
                switch item.status {
                case .ok: "[ok]  "
                case .warn: "[warn]"
                case .skipped: "[skip]"
                case .fail: "[FAIL]"
                }
            return "\(mark) \(item.name): \(item.detail)"
        }
        let warned = report.items.contains { $0.status == .warn || $0.status == .skipped }
        lines.append(
            report.exitCode == 0
                ? (warned ? "All checks passed, with warnings." : "All checks passed.")
                : "Checks failed (exit \(report.exitCode)).")
        return lines.joined(separator: "\n")
    }
}
