import ArgumentParser
import Foundation
import LeverHubertSync

/// `explain OPPORTUNITY_ID`: why a candidate was or was not invited, from the store and one read of the opportunity.
struct ExplainCommand: ExitStatusCommand {
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

    func outcome() async -> ExitStatus {
        await ExplainRunner.execute(common: common, opportunityId: opportunityId)
    }
}

/// Runs `explain` and maps its outcome to an exit status.
enum ExplainRunner {
    static func execute(common: CommonOptions, opportunityId: String) async -> ExitStatus {
        let logger = Bootstrap.logger(common)
        let config: AppConfig
        do {
            config = try ConfigLoader.load(
                path: common.config, databaseOverride: common.database,
                environment: ProcessInfo.processInfo.environment
            ).config
        } catch {
            Output.error("\(error)")
            return .configuration
        }
        do {
            let explanation = try await PassSession.explain(
                opportunityId: opportunityId, config: config, logger: logger)
            if common.json { Output.json(explanation) } else { print(ExplainText.render(explanation)) }
            return .ok
        } catch let abort as PassAbort {
            Output.error(abort.description)
            return abort.status
        } catch {
            Output.error("explain failed: \(error)")
            return .temporary
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
