import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// Requests are the cost: Lever's 10/s per key is shared with every other integration.
@Suite struct RequestCostTests {
    @Test func anIdlePassCostsAtMostFiveLeverAndOneHubertRequestForAHundredPostings() async throws {
        let env = try await TestEnvironment()
        for i in 0..<100 {
            _ = await env.lever.addPosting(
                text: "Posting \(i)",
                tags: ["Hubert: \(i.isMultiple(of: 2) ? TestEnvironment.templateA : TestEnvironment.templateB)"])
        }
        _ = try await env.pass(autoMove: "autoMove:\n  lead: Phone screen")
        await tick()
        await env.lever.clearLog()
        await env.hubert.clearLog()
        let idle = try await env.pass(autoMove: "autoMove:\n  lead: Phone screen")
        #expect(idle.exitCode == 0)
        #expect(idle.actions.isEmpty)
        let leverLog = await env.lever.requestLog
        let hubertLog = await env.hubert.requestLog
        #expect(leverLog.count <= 5, "\(leverLog)")
        #expect(hubertLog.count <= 1, "\(hubertLog)")
        #expect(idle.requests.lever == leverLog.count, "the report counts what was sent")
        #expect(idle.requests.hubert == hubertLog.count)
    }

    @Test func aNamedStageMissingFromTheCacheIsLookedUpAgain() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        _ = try await env.pass()
        await env.lever.setStage(LeverStage(id: "new-stage-id", text: "Brand New Stage"))
        let report = try await env.pass(autoMove: "autoMove:\n  lead: Brand New Stage")
        #expect(report.exitCode == 0, "\(report.message ?? "")")
    }
}
