import Foundation
import GRDB
import Sandbox
import Testing

@testable import LeverHubertSync

/// The funnel of `status --json` against real passes over the sandboxes: every number exact, from the ledger.
@Suite struct FunnelTests {
    /// A world with two tagged postings (different templates) and one tagged posting nobody applied to, after
    /// real passes: invitations, completions, a regrade.
    struct World {
        var env: TestEnvironment
        var warehouse: String
        var support: String
        var empty: String
        var invitePass: PassReport
    }

    static let warehouseName = "Warehouse <Night> & \"Day\" shift's"

    static func world() async throws -> World {
        let env = try await TestEnvironment()
        let warehouse = await env.taggedPosting(TestEnvironment.templateA, text: warehouseName)
        let support = await env.taggedPosting(TestEnvironment.templateB, text: "Customer Support")
        let empty = await env.taggedPosting(TestEnvironment.templateA, text: "Forklift Driver")
        let untagged = await env.lever.addPosting(text: "Office Manager", tags: ["Full-time"])
        // Applied before the postings were first seen with their tag: not an applicant of the funnel.
        _ = await env.lever.addOpportunity(name: "Early Bird", emails: ["early@example.com"], posting: warehouse)
        await tick()
        let baseline = try await env.pass()
        #expect(baseline.exitCode == 0 && baseline.actions.isEmpty)
        await tick()

        // Warehouse: 6 applied — 4 invitable, 1 without an e-mail address, 1 archived (skipped, still an applicant).
        var invitable: [String] = []
        for name in ["Ada Lovelace", "Grace Hopper", "Cher", "Dan Brown"] {
            invitable.append(
                await env.lever.addOpportunity(
                    name: name, emails: ["\(name.prefix(3))@example.com"],
                    posting: warehouse))
        }
        _ = await env.lever.addOpportunity(name: "No Mail", emails: [], posting: warehouse)
        _ = await env.lever.addOpportunity(
            name: "Old Hand", emails: ["old@example.com"], posting: warehouse,
            archived: true)
        // Support: 3 applied — 2 invitable, 1 who asked not to be contacted.
        let eve = await env.lever.addOpportunity(name: "Eve Online", emails: ["eve@example.com"], posting: support)
        _ = await env.lever.addOpportunity(name: "Finn Human", emails: ["finn@example.com"], posting: support)
        _ = await env.lever.addOpportunity(
            name: "Opt Out", emails: ["o@example.com"], posting: support,
            contactAllowed: false)
        // Elsewhere: no funnel counts it.
        _ = await env.lever.addOpportunity(name: "Other", emails: ["x@example.com"], posting: untagged)

        let invitePass = try await env.pass()
        #expect(invitePass.exitCode == 0)
        #expect(invitePass.counts.invitationsSent == 6)
        await tick()

        let interviews = try await invitable.asyncMap { try #require(await env.interviews($0).first).id }
        await env.hubert.complete(interviews[0], grade: .lead, score: 90)
        await env.hubert.complete(interviews[1], grade: .passed, score: 72)
        await env.hubert.complete(interviews[2], grade: .notQualified, score: 20)
        let eveInterview = try #require(await env.interviews(eve).first).id
        await env.hubert.complete(eveInterview, grade: .notQualified, score: 10)
        let results = try await env.pass()
        #expect(results.counts.resultsApplied == 4)
        await tick()
        // The regrade: Passed becomes Lead; the standing grade counts.
        await env.hubert.complete(interviews[1], grade: .lead, score: 80)
        let regrade = try await env.pass()
        #expect(regrade.counts.resultsApplied == 1)
        return World(env: env, warehouse: warehouse, support: support, empty: empty, invitePass: invitePass)
    }

    /// The latencies (seconds) the ledger holds for a posting, computed here independently of the funnel query.
    static func ledgerLatencies(_ env: TestEnvironment, posting: String) async throws -> [Double] {
        try await env.store().read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sent_ms, applied_ms FROM invitation WHERE posting_id = ? AND state = 'sent'
                    """, arguments: [posting]
            ).map { row -> Double in
                let sent: Int64 = row["sent_ms"]
                let applied: Int64 = row["applied_ms"]
                return Double(sent - applied) / 1000
            }.sorted()
        }
    }

    @Test func everyNumberOfTheFunnelIsExactPerPosting() async throws {
        let world = try await Self.world()
        let report = try await StatusReport.load(store: world.env.store(), now: Date().millis)
        #expect(report.funnel.map(\.postingId) == [world.support, world.empty, world.warehouse], "ordered by name")
        let byId = Dictionary(uniqueKeysWithValues: report.funnel.map { ($0.postingId, $0) })

        let warehouse = try #require(byId[world.warehouse])
        #expect(warehouse.postingName == Self.warehouseName)
        #expect(warehouse.templateId == TestEnvironment.templateA)
        #expect(warehouse.applied == 6, "4 invited + no e-mail + archived; not the one before the tag, not elsewhere")
        #expect(warehouse.invited == 4)
        #expect(warehouse.completed == 3)
        #expect(warehouse.lead == 2, "the regrade from Passed to Lead stands")
        #expect(warehouse.passed == 0)
        #expect(warehouse.notQualified == 1)
        #expect(warehouse.openProblems == [.init(reason: "missing_email", scope: "opportunity", count: 1)])

        let support = try #require(byId[world.support])
        #expect(support.templateId == TestEnvironment.templateB)
        #expect((support.applied, support.invited, support.completed) == (3, 2, 1))
        #expect((support.lead, support.passed, support.notQualified) == (0, 0, 1))
        #expect(support.openProblems == [.init(reason: "contact_forbidden", scope: "opportunity", count: 1)])

        let empty = try #require(byId[world.empty])
        #expect((empty.applied, empty.invited, empty.completed, empty.lead) == (0, 0, 0, 0))
        #expect(empty.inviteLatencySeconds == nil)

        for (entry, posting) in [(warehouse, world.warehouse), (support, world.support)] {
            let latency = try #require(entry.inviteLatencySeconds)
            #expect(latency.p50 >= 0 && latency.p50 <= latency.p95)
            let ledger = try await Self.ledgerLatencies(world.env, posting: posting)
            #expect(ledger.count == entry.invited)
            #expect(latency.p50 == FunnelPercentile.nearestRank(ledger, 50))
            #expect(latency.p95 == FunnelPercentile.nearestRank(ledger, 95))
            #expect(latency.p95 == ledger.last, "with fewer than 20 values, p95 is the slowest")
        }
    }

    @Test func statusJSONCarriesTheFunnelWithNullLatencyWhereNobodyWasInvited() async throws {
        let world = try await Self.world()
        let report = try await StatusReport.load(store: world.env.store(), now: Date().millis)
        let data = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let funnel = try #require(object["funnel"] as? [[String: Any]])
        #expect(funnel.count == 3)
        let empty = try #require(funnel.first { $0["postingId"] as? String == world.empty })
        #expect(empty.keys.contains("inviteLatencySeconds"), "present, not omitted")
        #expect(empty["inviteLatencySeconds"] is NSNull)
        let warehouse = try #require(funnel.first { $0["postingId"] as? String == world.warehouse })
        for key in [
            "postingId", "postingName", "templateId", "applied", "invited", "completed", "lead", "passed",
            "notQualified",
        ] {
            #expect(warehouse[key] != nil, "funnel entry lacks \(key)")
        }
        #expect(warehouse["applied"] as? Int == 6)
        #expect(warehouse["notQualified"] as? Int == 1)
        let latency = try #require(warehouse["inviteLatencySeconds"] as? [String: Any])
        #expect(latency["p50"] is Double && latency["p95"] is Double)
        #expect(object["funnelSince"] == nil, "no cohort, no key")
        // Existing fields are unchanged.
        for key in ["checkpoints", "invitations", "resultsPending", "problems", "runs"] { #expect(object[key] != nil) }
    }

    @Test func sinceCountsOnlyTheCohortOfApplicationsCreatedSinceThen() async throws {
        let world = try await Self.world()
        let env = world.env
        await tick()
        let cohortStart = Date().millis
        await tick()
        let late = await env.lever.addOpportunity(
            name: "Late Comer", emails: ["late@example.com"],
            posting: world.warehouse)
        _ = await env.lever.addOpportunity(
            name: "Late Archived", emails: ["la@example.com"], posting: world.warehouse,
            archived: true)
        let pass = try await env.pass()
        #expect(pass.counts.invitationsSent == 1)
        await tick()
        await env.hubert.complete(try #require(await env.interviews(late).first).id, grade: .passed, score: 75)
        _ = try await env.pass()

        let all = try await StatusReport.load(store: env.store(), now: Date().millis)
        let allWarehouse = try #require(all.funnel.first { $0.postingId == world.warehouse })
        #expect((allWarehouse.applied, allWarehouse.invited, allWarehouse.completed) == (8, 5, 4))
        #expect((allWarehouse.lead, allWarehouse.passed, allWarehouse.notQualified) == (2, 1, 1))

        let since = try await StatusReport.load(store: env.store(), now: Date().millis, since: cohortStart)
        #expect(since.funnelSince == RFC3339.format(cohortStart))
        let warehouse = try #require(since.funnel.first { $0.postingId == world.warehouse })
        #expect((warehouse.applied, warehouse.invited, warehouse.completed) == (2, 1, 1))
        #expect((warehouse.lead, warehouse.passed, warehouse.notQualified) == (0, 1, 0))
        let latency = try #require(warehouse.inviteLatencySeconds)
        #expect(latency.p50 == latency.p95, "one invitation in the cohort")
        let support = try #require(since.funnel.first { $0.postingId == world.support })
        #expect((support.applied, support.invited, support.completed) == (0, 0, 0))
        #expect(support.inviteLatencySeconds == nil)
        #expect(since.funnel.count == 3, "every tagged posting is listed, even with nothing in the cohort")
    }

    @Test func theLatenciesOfARunAreThoseOfTheInvitationsItConfirmed() async throws {
        let world = try await Self.world()
        let store = try world.env.store()
        let invited = try await store.inviteLatencies(runId: world.invitePass.runId)
        #expect(invited.count == 6)
        #expect(invited.allSatisfy { $0 >= 0 })
        let ledger =
            try await Self.ledgerLatencies(world.env, posting: world.warehouse)
            + Self.ledgerLatencies(world.env, posting: world.support)
        #expect(invited.sorted() == ledger.sorted())
        let quiet = try await world.env.pass()
        #expect(try await store.inviteLatencies(runId: quiet.runId).isEmpty, "a run that invited nobody")
        #expect(try await store.inviteLatencies(runId: "no-such-run").isEmpty)
        #expect(try await store.inviteLatencies(confirmedFrom: 0).count == 6)
        #expect(try await store.inviteLatencies(confirmedFrom: Date().millis + 60_000).isEmpty)
    }

    @Test(
        arguments: [
            ([1, 2, 3, 4], 2.0, 4.0),
            ([7], 7.0, 7.0),
            ([5, 1, 3], 3.0, 5.0),
            (Array(1...20).map(Double.init), 10.0, 19.0),
            (Array(1...100).map(Double.init), 50.0, 95.0),
            ([0.25, 0.5], 0.25, 0.5),
        ] as [([Double], Double, Double)])
    func percentilesFollowTheNearestRankRule(values: [Double], p50: Double, p95: Double) throws {
        let latency = try #require(FunnelEntry.Latency(seconds: values))
        #expect(latency.p50 == p50)
        #expect(latency.p95 == p95)
    }

    @Test func noValuesHaveNoPercentile() {
        #expect(FunnelEntry.Latency(seconds: []) == nil)
        #expect(FunnelPercentile.nearestRank([], 50) == nil)
        #expect(FunnelPercentile.nearestRank([3, 9], 1) == 3, "the lowest rank is 1")
    }

    @Test func theLatencyHistogramIsCumulativeWithSumAndCount() {
        let text = FunnelMetrics.latencyHistogram(latencies: [100_000, 10, 60, 45, 61, 4000, 0.5])
        let name = "lever_hubert_sync_invite_latency_seconds"
        #expect(
            text == """
                # HELP \(name) Application created in Lever to invitation confirmed by Hubert, over the last run's \
                invitations.
                # TYPE \(name) histogram
                \(name)_bucket{le="30"} 2
                \(name)_bucket{le="60"} 4
                \(name)_bucket{le="120"} 5
                \(name)_bucket{le="300"} 5
                \(name)_bucket{le="600"} 5
                \(name)_bucket{le="1800"} 5
                \(name)_bucket{le="3600"} 5
                \(name)_bucket{le="21600"} 6
                \(name)_bucket{le="86400"} 6
                \(name)_bucket{le="+Inf"} 7
                \(name)_sum 104176.5
                \(name)_count 7

                """)
    }

    @Test func anEmptyHistogramHasEveryBucketAtZero() {
        let lines = FunnelMetrics.latencyHistogram(latencies: []).split(separator: "\n")
        #expect(lines.count == 2 + FunnelMetrics.latencyBuckets.count + 1 + 2)
        for line in lines where !line.hasPrefix("#") { #expect(line.hasSuffix(" 0"), "\(line)") }
    }
}

extension Array {
    /// `map` with an async transform, in order.
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
