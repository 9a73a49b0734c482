import ArgumentParser
import Foundation
import LeverHubertSync

/// `check`: validates configuration, credentials, stages, perform-as user and posting tags without writing.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validates configuration, credentials, permissions, stages and posting tags, without writing.")
    @OptionGroup var common: CommonOptions

    @Flag(
        name: .long,
        help: "Validate the configuration file and environment only, without any request (exit 0 or 78).")
    var offline = false

    func run() async throws {
        throw ExitCode(await CheckRunner.execute(common: common, offline: offline))
    }
}
