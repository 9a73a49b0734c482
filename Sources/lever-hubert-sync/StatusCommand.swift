import ArgumentParser
import Foundation
import LeverHubertSync

/// `status`: checkpoints, pending and failed items, the last runs.
struct StatusCommand: AsyncParsableCommand {
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
    func run() async throws {
        throw ExitCode(
            await StatusRunner.execute(
                common: common, html: html,
                since: since.flatMap { DateArgument.parse($0, endOfDay: false) }))
    }
}
