import Foundation
import LeverHubertSync

/// `status`: reads the store only.
enum StatusRunner {
    static func execute(common: CommonOptions) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        let path: String
        let staleAfterDays: Int
        do {
            let file = try ConfigLoader.loadFile(path: common.config, environment: env)
            path = try ConfigLoader.databasePath(file, databaseOverride: common.database, environment: env)
            staleAfterDays = ConfigLoader.staleAfterDays(file)
        } catch {
            return Bootstrap.fail(common, code: 78, message: "\(error)")
        }
        do {
            // No database yet means nothing has run: an empty status, not an error (and nothing is created).
            let store = FileManager.default.fileExists(atPath: path) ? try Store(path: path) : try Store()
            let report = try await StatusReport.load(store: store, now: Date().millis, staleAfterDays: staleAfterDays)
            if common.json { Output.json(report) } else { print(StatusText.render(report)) }
            return 0
        } catch {
            return Bootstrap.fail(common, code: 75, message: "cannot read the database \(path): \(error)")
        }
    }
}

enum StatusText {
    static func render(_ report: StatusReport) -> String {
        var lines: [String] = ["Checkpoints"]
        if report.checkpoints.isEmpty { lines.append("  (none yet)") }
        for c in report.checkpoints { lines.append("  \(c.stream.padding(toLength: 22, withPad: " ", startingAt: 0)) \(c.at)  lag \(c.lagSeconds)s") }
        let i = report.invitations
        lines.append("Invitations")
        lines.append("  sent \(i.sent)  started \(i.started)  completed \(i.completed)  expired \(i.expired)  cancelled \(i.cancelled)  refused \(i.refused)  unconfirmed \(i.pending)  stale \(i.stale)")
        lines.append("Results not yet written back: \(report.resultsPending)")
        lines.append("Problems needing a human (\(report.problems.count))")
        for p in report.problems { lines.append("  [\(p.reason)] \(p.message)\(p.leverURL.map { "  \($0)" } ?? "")") }
        lines.append("Last runs")
        for r in report.runs {
            let c = r.counts
            lines.append("  \(r.startedAt) \(r.kind.padding(toLength: 8, withPad: " ", startingAt: 0)) exit \(r.exitCode.map(String.init) ?? "-")  invited \(c?.invitationsSent ?? 0)  results \(c?.resultsApplied ?? 0)  failed \(c?.failed ?? 0)  requests L\(r.requests.lever)/H\(r.requests.hubert)\(r.message.map { "  \($0)" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// `check`: read-only validation against both services.
enum CheckRunner {
    static func execute(common: CommonOptions) async -> Int32 {
        let logger = Bootstrap.logger(common)
        let config: AppConfig
        var warnings: [String] = []
        do {
            (config, warnings) = try ConfigLoader.load(path: common.config, databaseOverride: common.database,
                                                       environment: ProcessInfo.processInfo.environment)
        } catch {
            let report = CheckReport(items: [CheckReport.Item(name: "configuration", ok: false, detail: "\(error)")], exitCode: 78)
            if common.json { Output.json(report) } else { print(CheckText.render(report)) }
            return 78
        }
        let runtime = SyncRuntime(config: config, logger: logger)
        let report = await Checker(runtime: runtime, warnings: warnings).run()
        if common.json { Output.json(report) } else { print(CheckText.render(report)) }
        return report.exitCode
    }
}

enum CheckText {
    static func render(_ report: CheckReport) -> String {
        var lines = report.items.map { "\($0.ok ? "[ok]  " : "[FAIL]") \($0.name): \($0.detail)" }
        lines.append(report.exitCode == 0 ? "All checks passed." : "Checks failed (exit \(report.exitCode)).")
        return lines.joined(separator: "\n")
    }
}
