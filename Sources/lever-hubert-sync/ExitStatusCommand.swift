import ArgumentParser
import Foundation
import LeverHubertSync

/// The one place an outcome becomes the process's exit status: every command says how it ended as an
/// `ExitStatus`, and only this file turns one into the number the process exits with.
extension ExitStatus {
    /// What a command throws to end the process with this status.
    var exitCode: ExitCode { ExitCode(rawValue) }

    /// Ends the process at once with this status, from any thread (a stopped pass's last resort).
    func exitNow() -> Never { _exit(rawValue) }
}

/// A command whose outcome is an `ExitStatus`; `run` ends the process with it.
protocol ExitStatusCommand: AsyncParsableCommand {
    /// Does the command's work and says how it ended.
    func outcome() async -> ExitStatus
}

extension ExitStatusCommand {
    func run() async throws { throw await outcome().exitCode }
}
