import ArgumentParser
import Foundation
import LeverHubertSync
import Logging
import Sandbox

/// `demo`: the built-in sandboxes with sample data and real passes against them; no credentials, no network.
struct DemoCommand: ExitStatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Runs real passes against the built-in Lever and Hubert sandboxes (no credentials needed).")

    @Option(name: .long, help: "SQLite database path (default: a new temporary file).")
    var database: String?

    @Option(name: .long, help: "Log level for the passes' logs on stderr.")
    var logLevel: Logger.Level = .warning

    func outcome() async -> ExitStatus {
        let level = logLevel
        let logger = Logger(label: "lever-hubert-sync") { StderrLogHandler(label: $0, level: level, format: .human) }
        do {
            let outcome = try await Demo.run(databasePath: database, logger: logger) { print($0) }
            return outcome.reports.allSatisfy { $0.status == .ok } ? .ok : .demoFailed
        } catch let error as DemoError {
            Output.error("\(error)")
            return .configuration
        } catch let failure as SessionFailure {
            Output.error(failure.message)
            return failure.status
        } catch let abort as PassAbort {
            Output.error("\(abort)")
            return abort.status
        } catch {
            Output.error("demo failed: \(error)")
            return .demoFailed
        }
    }
}
