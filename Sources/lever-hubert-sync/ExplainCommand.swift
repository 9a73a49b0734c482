import ArgumentParser
import Foundation
import LeverHubertSync

/// `explain OPPORTUNITY_ID`: why a candidate was or was not invited, from the store and one read of the opportunity.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Why a candidate was or was not invited, and where its write-back stands; writes nothing.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The Lever opportunity id.")
    var opportunityId: String

    func validate() throws {
        guard !opportunityId.isEmpty, opportunityId.count <= 200,
            opportunityId.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        else { throw ValidationError("\(opportunityId.prefix(40)) is not a Lever opportunity id") }
    }

    func run() async throws {
        throw ExitCode(await ExplainRunner.execute(common: common, opportunityId: opportunityId))
    }
}

/// Runs `explain` and maps its outcome to an exit status.
enum ExplainRunner {
    static func execute(common: CommonOptions, opportunityId: String) async -> Int32 {
        let logger = Bootstrap.logger(common)
        let config: AppConfig
        do {
            config = try ConfigLoader.load(
                path: common.config, databaseOverride: common.database,
                environment: ProcessInfo.processInfo.environment
            ).config
        } catch {
            FileHandle.standardError.write(Data("lever-hubert-sync: \(error)\n".utf8))
            return ExitStatus.configuration.code
        }
        do {
            let store = try SyncRuntime.openStore(path: config.databasePath, dryRun: true)
            let runtime = SyncRuntime(config: config, logger: logger)
            let explanation = try await runtime.engine(store: store).explain(opportunityId: opportunityId)
            if common.json { Output.json(explanation) } else { print(ExplainText.render(explanation)) }
            return ExitStatus.ok.code
        } catch let abort as PassAbort {
            FileHandle.standardError.write(Data("lever-hubert-sync: \(abort.description)\n".utf8))
            return abort.exitCode
        } catch {
            FileHandle.standardError.write(Data("lever-hubert-sync: explain failed: \(error)\n".utf8))
            return ExitStatus.temporary.code
        }
    }
}

/// `explain` as a recruiter reads it.
enum ExplainText {
    static func render(_ e: Explanation) -> String {
        var lines = ["Opportunity \(e.opportunityId)" + (e.postingId.map { " on posting \($0)" } ?? "")]
        if let message = e.message { lines.append("  \(message)") }
        for t in e.templates {
            var line = "  template \(t.templateId ?? "(malformed tag)"): \(t.decision)"
            if let reason = t.reason { line += " (\(reason))" }
            if let since = t.since { line += " since \(since)" }
            lines.append(line)
            lines.append("    \(t.message)")
            if let interview = t.interviewId {
                lines.append(
                    "    interview \(interview) \(t.state ?? "")"
                        + (t.invitedAt.map { ", invited \($0)" } ?? "")
                        + (t.writeBack.map { ", write-back \($0)" } ?? ""))
            }
            for step in t.steps ?? [] { lines.append("    step \(step.step): \(step.state)") }
            if let until = t.givenUpAt { lines.append("    given up at \(until) unless fixed") }
        }
        return lines.joined(separator: "\n")
    }
}
