import ArgumentParser
import Foundation
import LeverHubertSync

/// `status`: checkpoints, pending and failed items, the last runs.
struct StatusCommand: ExitStatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Checkpoints, pending and failed items, the last runs.")
    @OptionGroup var common: CommonOptions
    @Option(name: .long, help: "Also write the funnel page (one self-contained HTML file, mode 0644) to this path.")
    var html: String?
    @Option(name: .long, help: "Funnel cohort: applications created since a date (2026-11-01, UTC) or RFC 3339 time.")
    var since: String?
    func validate() throws {
        if let since, DateArgument.parse(since, endOfDay: false) == nil {
            throw ValidationError("--since \(since) is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")
        }
    }
    func outcome() async -> ExitStatus {
        await StatusRunner.execute(
            common: common, html: html, since: since.flatMap { DateArgument.parse($0, endOfDay: false) })
    }
}

/// `status`: reads the store only.
enum StatusRunner {
    static func execute(common: CommonOptions, html: String? = nil, since: Millis? = nil) async -> ExitStatus {
        let env = ProcessInfo.processInfo.environment
        let path: String
        let staleAfterDays: Int
        do {
            let file = try ConfigLoader.loadFile(path: common.config, environment: env)
            path = try ConfigLoader.databasePath(file, databaseOverride: common.database, environment: env)
            staleAfterDays = ConfigLoader.staleAfterDays(file)
        } catch {
            return Bootstrap.fail(common, .configuration, message: "\(error)", mode: "status")
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
                    return Bootstrap.fail(common, .configuration, message: "\(error)", mode: "status")
                }
            }
            if common.json { Output.json(report) } else { print(StatusText.render(report)) }
            return .ok
        } catch {
            return Bootstrap.fail(
                common, .temporary, message: "cannot read the database \(path): \(error)",
                mode: "status")
        }
    }
}

/// `status` as an operator reads it.
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
