import ArgumentParser
import Foundation
import LeverHubertSync
import Logging

/// Options shared by every command.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: lever-hubert-sync.yml, or $LHS_CONFIG).")
    var config: String?

    @Option(name: .long, help: "SQLite database path (overrides database.path).")
    var database: String?

    @Flag(name: .long, help: "Print one machine-readable JSON object on stdout; logs stay on stderr.")
    var json = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format: human or json (default: human on a terminal, json otherwise).")
    var logFormat: StderrLogHandler.Format?
}

// The log level is parsed straight from the command line; swift-log does not declare this conformance itself.
// swift-format-ignore: AvoidRetroactiveConformances
extension Logger.Level: @retroactive ExpressibleByArgument {}

@main
struct LeverHubertSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lever-hubert-sync",
        abstract: "Invites Lever applicants to Hubert AI interviews and writes the results back to Lever.",
        version: "lever-hubert-sync \(ToolVersion.current)",
        subcommands: [
            RunCommand.self, BackfillCommand.self, StatusCommand.self, CheckCommand.self, ExplainCommand.self,
            AuthorizeCommand.self, DemoCommand.self,
        ]
    )

    /// The entry point: hardens the process (no core dumps, not dumpable) before anything parses arguments or reads
    /// a key, then does what `AsyncParsableCommand.main()` does. Every command passes through here, so there is one
    /// place, and no command can read configuration before it.
    static func main() async {
        Hardening.apply()
        // A reader that goes away (`run --json | head`) makes a write fail with EPIPE, never kills the pass.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

extension StderrLogHandler.Format: ExpressibleByArgument {}
