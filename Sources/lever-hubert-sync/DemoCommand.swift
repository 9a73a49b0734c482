import ArgumentParser
import Foundation
import LeverHubertSync
import Logging
import Sandbox

/// `demo`: the built-in sandboxes with sample data and real passes against them; no credentials, no network.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Runs real passes against the built-in Lever and Hubert sandboxes (no credentials needed).")

    @Option(name: .long, help: "SQLite database path (default: a new temporary file).")
    var database: String?

    @Option(name: .long, help: "Log level for the passes' logs on stderr.")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        let level = logLevel
        let logger = Logger(label: "lever-hubert-sync") { StderrLogHandler(label: $0, level: level, format: .human) }
        let outcome: Demo.Outcome
        do {
            outcome = try await Demo.run(databasePath: database, logger: logger) { print($0) }
        } catch let error as DemoError {
            FileHandle.standardError.write(Data("lever-hubert-sync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.configuration.code)
        } catch let abort as PassAbort {
            FileHandle.standardError.write(Data("lever-hubert-sync: \(abort)\n".utf8))
            throw ExitCode(abort.exitCode)
        }
        let failed = outcome.reports.contains { $0.exitCode != 0 }
        throw ExitCode(failed ? 1 : 0)
    }
}
