import ArgumentParser
import Foundation
import LeverHubertSync

/// `check`: validates configuration, credentials, stages, perform-as user and posting tags without writing.
struct CheckCommand: ExitStatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validates configuration, credentials, permissions, stages and posting tags, without writing.")
    @OptionGroup var common: CommonOptions

    @Flag(
        name: .long,
        help: "Validate the configuration file and environment only, without any request (exit 0 or 78).")
    var offline = false

    func outcome() async -> ExitStatus {
        await CheckRunner.execute(common: common, offline: offline)
    }
}

/// `check`: read-only validation against both services, or (`--offline`) of the file and environment alone.
enum CheckRunner {
    static func execute(common: CommonOptions, offline: Bool) async -> ExitStatus {
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
            return finish(
                common, CheckReport(items: loaded, exitCode: ExitStatus.ok.code, configuration: config.effective()))
        }
        // No run lock: a refresh of Lever's rotating OAuth token is guarded by the token file's own lock (and the
        // file re-read under it), so check neither waits for a pass nor creates a file beside the database.
        let runtime = SyncRuntime(config: config, logger: logger)
        let report = await Checker(runtime: runtime, warnings: warnings).run()
        return finish(common, report)
    }

    /// Prints the report (JSON or the checklist) and returns its exit status.
    static func finish(_ common: CommonOptions, _ report: CheckReport) -> ExitStatus {
        if common.json { Output.json(report) } else { print(CheckText.render(report)) }
        return ExitStatus(reported: report.exitCode)
    }
}

/// `check`'s checklist as an operator reads it.
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
            ExitStatus(reported: report.exitCode) == .ok
                ? (warned ? "All checks passed, with warnings." : "All checks passed.")
                : "Checks failed (exit \(report.exitCode)).")
        return lines.joined(separator: "\n")
    }
}
