import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// Reads at the physical minimum: one opportunities query per window per 100 tagged postings finds both new
/// applications and moves into New applicant; an idle pass costs 2 Lever requests and 1 Hubert request; postings are
/// read changed-since with a full read at most hourly. Real passes over loopback HTTP against the sandboxes.
@Suite struct ReadsAtTheFloorTests {
    static let minute: Millis = 60_000

    func opportunityReads(_ env: TestEnvironment) async -> [String] {
        await env.lever.requestLines.filter { $0.hasPrefix("GET /v1/opportunities?") }
    }

    func postingReads(_ env: TestEnvironment) async -> [String] {
        await env.lever.requestLines.filter { $0.hasPrefix("GET /v1/postings") }
    }

    @Test func anIdlePassCostsTwoLeverRequestsAndOneHubertRequest() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        _ = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        let busy = try await env.pass()
        #expect(busy.counts.invitationsSent == 1)
        await tick()
        await env.lever.clearLog()
        await env.hubert.clearLog()
        let idle = try await env.pass()
        #expect(idle.exitCode == 0)
        let leverLines = await env.lever.requestLines
        let hubertLines = await env.hubert.requestLog
        #expect(idle.requests.lever == 2, "\(leverLines)")
        #expect(idle.requests.hubert == 1, "\(hubertLines)")
        let postings = await postingReads(env)
        #expect(postings.count == 1 && postings[0].contains("updated_at_start="), "\(postings)")
        #expect(!postings[0].contains("limit=") && !postings[0].contains("tag="), "only confidentiality beside it")
        #expect(await opportunityReads(env).count == 1)
        #expect(idle.actions.isEmpty)
        #expect(idle.counts.postingsScanned == 1, "the tagged posting, known from the snapshot, is judged")
    }

    @Test func oneQueryFindsNewApplicationsAndMovesIntoNewApplicant() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        // Bob applied long ago and waited in New lead; the baseline pass does not invite him.
        let bob = await env.lever.addOpportunity(
            name: "Bob Byte", emails: ["bob@example.com"], posting: posting, stage: "lead-new",
            createdAt: Date().millis - 3 * 86_400_000)
        _ = try await env.pass()
        await tick()
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        await env.lever.move(bob, to: "applicant-new")
        await env.lever.clearLog()
        let report = try await env.pass()
        let invited = Set(await env.hubert.interviews.values.map(\.opportunityId))
        #expect(invited == [ada, bob])
        #expect(report.counts.invitationsSent == 2)
        let reads = await opportunityReads(env)
        #expect(reads.count == 1, "one query, not one per kind: \(reads)")
        #expect(reads.allSatisfy { $0.contains("updated_at_start=") && !$0.contains("created_at") })
        #expect(reads.allSatisfy { !$0.contains("expand=stage") }, "no expand the pass does not read")
    }

    /// A change Lever shows only after the pass that should have seen it: the lookback overlap finds it.
    @Test func aMoveIntoNewApplicantInsideTheLookbackOverlapIsFound() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let carol = await env.lever.addOpportunity(
            name: "Carol Cache", emails: ["carol@example.com"], posting: posting, stage: "lead-new",
            createdAt: Date().millis - 86_400_000)
        // The baseline half an hour ago: the posting has been tagged since.
        _ = try await env.pass(clockOffset: -30 * Self.minute)
        await tick()
        let second = try await env.pass()
        #expect(second.actions.isEmpty)
        let checkpoint = try #require(try await env.store().checkpoint(SyncEngine.leverStream))
        // Carol entered New applicant two minutes before the second pass started; Lever showed it only later.
        await env.lever.move(carol, to: "applicant-new", at: checkpoint - 2 * Self.minute)
        let third = try await env.pass()
        #expect(
            third.actions == [.invite(opportunityId: carol, postingId: posting, templateId: TestEnvironment.templateA)])
        // Outside the overlap it would not be (the move belongs to a window already closed).
        let dan = await env.lever.addOpportunity(
            name: "Dan Delay", emails: ["dan@example.com"], posting: posting, stage: "lead-new",
            createdAt: Date().millis - 86_400_000)
        let checkpoint3 = try #require(try await env.store().checkpoint(SyncEngine.leverStream))
        await env.lever.move(dan, to: "applicant-new", at: checkpoint3 - 11 * Self.minute)
        let fourth = try await env.pass()
        #expect(fourth.actions.isEmpty)
    }

    /// Applications created just before the window: one moved into New applicant inside it is invited; one merely
    /// changed inside it (a recruiter's tag, the tool's own write-back) is returned by the query and not invited.
    @Test func anApplicationCreatedJustBeforeTheWindowIsJudgedByWhatHappenedInIt() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        _ = try await env.pass()
        await tick()
        _ = try await env.pass()
        let checkpoint = try #require(try await env.store().checkpoint(SyncEngine.leverStream))
        let windowStart = checkpoint - 10 * Self.minute
        // Both applied one second before the next window opens, after the pass that covered it (Lever was late).
        let erin = await env.lever.addOpportunity(
            name: "Erin Early", emails: ["erin@example.com"], posting: posting, stage: "lead-new",
            createdAt: windowStart - 1_000)
        let fay = await env.lever.addOpportunity(
            name: "Fay Flag", emails: ["fay@example.com"], posting: posting, createdAt: windowStart - 1_000)
        await tick()
        await env.lever.move(erin, to: "applicant-new")
        await env.lever.tag(fay, "Referral")
        await env.lever.clearLog()
        let report = try await env.pass()
        #expect(
            report.actions == [.invite(opportunityId: erin, postingId: posting, templateId: TestEnvironment.templateA)])
        #expect(report.counts.opportunitiesScanned == 2, "the query returned both")
        #expect(await opportunityReads(env).count == 1)
    }

    @Test func theToolsOwnWriteBacksAreReadAgainButChangeNothing() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        _ = try await env.pass()
        let interview = try #require(await env.hubert.interviews.values.first { $0.opportunityId == ada })
        await env.hubert.complete(interview.id, grade: .lead, score: 91)
        await tick()
        let applied = try await env.pass()
        #expect(applied.counts.resultsApplied == 1)
        await tick()
        // The write-back moved Ada's updatedAt: the next query returns her; nothing is planned for her.
        let next = try await env.pass()
        #expect(next.counts.opportunitiesScanned == 1)
        #expect(next.actions.isEmpty)
        #expect(await env.hubert.interviews.values.filter { $0.opportunityId == ada }.count == 1)
    }

    @Test func pagesAreOnePerHundredOpportunitiesOfOneHundredPostings() async throws {
        let env = try await TestEnvironment()
        var postings: [String] = []
        for i in 0..<3 { postings.append(await env.taggedPosting(text: "Posting \(i)")) }
        let start = Date().millis - 86_400_000
        for i in 0..<250 {
            _ = await env.lever.addOpportunity(
                name: "Applicant \(i)", emails: ["a\(i)@example.com"], posting: postings[i % 3],
                createdAt: start + Millis(i) * 1_000)
        }
        await env.lever.clearLog()
        let report = try await env.pass(
            .backfill(since: start - 1_000, until: Date().millis, postingIds: []), dryRun: true)
        #expect(report.counts.invitationsSent == 250)
        #expect(await opportunityReads(env).count == 3, "250 opportunities: 3 pages of one query")
    }

    @Test func postingsAreReadChangedSinceAndInFullHourly() async throws {
        let env = try await TestEnvironment()
        let first = try await EndToEndTests.baseline(env)
        #expect(await postingReads(env).first?.contains("limit=100") == true, "the first read is a full read")
        await env.lever.clearLog()
        // A posting tagged after the last read is found by the changed-since read; its new applicant is invited.
        let second = await env.lever.addPosting(text: "Driver", tags: ["Full-time"])
        await tick()
        _ = try await env.pass()
        await tick()
        await env.lever.setPostingTags(second, tags: ["Hubert: \(TestEnvironment.templateB)"])
        await tick()
        let gus = await env.lever.addOpportunity(name: "Gus Grey", emails: ["gus@example.com"], posting: second)
        // The tag leaves the first posting: its new applicant is not invited.
        await env.lever.setPostingTags(first, tags: ["Full-time"])
        let hal = await env.lever.addOpportunity(name: "Hal Hollow", emails: ["hal@example.com"], posting: first)
        await env.lever.clearLog()
        let report = try await env.pass()
        #expect(
            report.actions == [.invite(opportunityId: gus, postingId: second, templateId: TestEnvironment.templateB)])
        #expect(!(await env.hubert.interviews.values.contains { $0.opportunityId == hal }))
        #expect(await postingReads(env).allSatisfy { $0.contains("updated_at_start=") })
        // An hour after the last full read, the next read is full again.
        await env.lever.clearLog()
        _ = try await env.pass(clockOffset: 61 * Self.minute)
        let reads = await postingReads(env)
        #expect(reads.count == 1 && reads[0].contains("limit=100") && !reads[0].contains("updated_at"), "\(reads)")
    }

    /// A pending invitation whose posting a changed-since read cannot vouch for is settled on a full read's word.
    @Test func aPendingIntentOnAPostingTheSnapshotLacksTriggersAFullRead() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        _ = try await env.pass()
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        // An intent recorded for a posting the snapshot does not know (a restored ledger, a posting since deleted).
        try await env.recordPendingIntent(ada, posting: "posting-gone")
        await tick()
        await env.lever.clearLog()
        let report = try await env.pass()
        let reads = await postingReads(env)
        #expect(reads.count == 2, "changed-since, then full: \(reads)")
        #expect(reads.first?.contains("updated_at_start=") == true && reads.last?.contains("limit=100") == true)
        // On the full read's word the intent is closed, not retried forever.
        #expect(report.problems.contains { $0.reason == "posting_not_tagged" && $0.opportunityId == ada })
        let closed = try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA)
        #expect(closed?.state == .refused)
    }

    /// A template read that says nothing about the template (a 400) is no refusal: the posting is served, Hubert's
    /// answer to the invitation decides, and nothing is closed on a guess.
    @Test func anUnreadableTemplateAnswerRefusesNothing() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        await env.hubert.setTemplateReadFailing(TestEnvironment.templateA, status: 400)
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        // The template cache is an hour old: the template is asked about again.
        let report = try await env.pass(clockOffset: 61 * Self.minute)
        #expect(report.exitCode == 0)
        #expect(
            report.actions == [.invite(opportunityId: ada, postingId: posting, templateId: TestEnvironment.templateA)])
        #expect(!report.problems.contains { $0.reason == "template_inactive" }, "\(report.problems)")
    }
}
