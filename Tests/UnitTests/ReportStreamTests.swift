import Foundation
import Testing

@testable import LeverHubertSync

/// The `--json` report written as the pass goes is byte for byte the report written at once.
@Suite struct ReportStreamTests {
    static let actions: [Action] = [
        .invite(opportunityId: "o-1", postingId: "p/1", templateId: "61f080d9414018eda48a7380"),
        .addTag(opportunityId: "o-2", tag: "Hubert: Lead"),
        .removeTag(opportunityId: "o-2", tag: "Hubert: Passed"),
        .addNote(opportunityId: "o-2"),
        .addLink(opportunityId: "o-2", url: "https://app.hubert.ai/a/\"quoted\"\n"),
        .moveStage(opportunityId: "o-2", stageId: "offer"),
    ]

    static func report(actions: [Action]) -> PassReport {
        var counts = PassCounts()
        counts.invitationsSent = 1
        return PassReport(
            runId: "r-1", dryRun: true, mode: "backfill", paused: false, counts: counts, actions: actions,
            problems: [Problem(opportunityId: "o-3", reason: "missing_email", message: "no \"e-mail\"")],
            requests: RequestCounts(lever: 3, hubert: 1), exitCode: 0, message: nil,
            startedAt: "2026-12-02T10:00:00.000Z", durationMs: 12)
    }

    func streamed(_ actions: [Action]) -> String {
        let out = Locked(Data())
        let stream = ReportStream(write: { data in out.withLock { $0.append(data) } })
        for action in actions { stream.add(action) }
        stream.finish(Self.report(actions: []))
        return String(data: out.withLock { $0 }, encoding: .utf8) ?? ""
    }

    @Test(arguments: [0, 1, 6, 1_000])
    func theStreamedReportIsTheReportWrittenAtOnce(count: Int) throws {
        let actions = (0..<count).map { Self.actions[$0 % Self.actions.count] }
        let whole = try #require(ReportJSON.text(Self.report(actions: actions)))
        #expect(streamed(actions) == whole + "\n")
    }

    @Test func theStreamParsesAsTheDocumentedObject() throws {
        let text = streamed(Self.actions)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((object["actions"] as? [[String: Any]])?.count == 6)
        #expect((object["counts"] as? [String: Any])?["invitationsSent"] as? Int == 1)
        #expect(object["runId"] as? String == "r-1")
    }

    @Test func anActionAfterTheEndIsNotWritten() {
        let out = Locked(Data())
        let stream = ReportStream(write: { data in out.withLock { $0.append(data) } })
        stream.add(Self.actions[0])
        stream.finish(Self.report(actions: []))
        let before = out.withLock { $0 }
        stream.add(Self.actions[1])
        stream.finish(Self.report(actions: []))
        #expect(out.withLock { $0 } == before)
        #expect(stream.count == 1)
    }
}
