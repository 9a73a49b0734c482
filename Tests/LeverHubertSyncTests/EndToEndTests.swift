import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// Real passes over real loopback HTTP against the sandboxes, with a real SQLite file.
@Suite struct EndToEndTests {
    static let autoMove = """
        autoMove:
          lead: Phone screen
        """

    /// A database with its baseline taken, one tagged posting, and a clock tick after it.
    static func baseline(_ env: TestEnvironment) async throws -> String {
        let posting = await env.taggedPosting()
        let first = try await env.pass()
        #expect(first.exitCode == 0, "baseline: \(first.message ?? "")")
        #expect(first.actions.isEmpty)
        await tick()
        return posting
    }

    @Test func eligibleApplicantsAreInvitedOnceAndIneligibleAreNot() async throws {
        let env = try await TestEnvironment()
        let posting = try await Self.baseline(env)
        let untagged = await env.lever.addPosting(text: "Office", tags: ["Full-time"])
        let ada = await env.lever.addOpportunity(
            name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting, phones: ["+4670"])
        let cher = await env.lever.addOpportunity(name: "Cher", emails: ["cher@example.com"], posting: posting)
        let noEmail = await env.lever.addOpportunity(name: "No Mail", emails: [], posting: posting)
        let archived = await env.lever.addOpportunity(
            name: "Old Hand", emails: ["old@example.com"], posting: posting, archived: true)
        let optedOut = await env.lever.addOpportunity(
            name: "Opt Out", emails: ["o@example.com"], posting: posting, contactAllowed: false)
        let elsewhere = await env.lever.addOpportunity(name: "Other", emails: ["x@example.com"], posting: untagged)

        let report = try await env.pass()
        #expect(report.exitCode == 0)
        let invited = Set(report.actions.filter { $0.type == .invite }.map(\.opportunityId))
        #expect(invited == [ada, cher])
        #expect(report.counts.invitationsSent == 2)
        #expect(report.counts.skipped == 1, "archived is skipped; opted-out is held back until consent is renewed")
        #expect(report.problems.contains { $0.opportunityId == noEmail && $0.reason == "missing_email" })
        #expect(report.problems.contains { $0.opportunityId == optedOut && $0.reason == "contact_forbidden" })
        for id in [noEmail, archived, optedOut, elsewhere] { #expect(await env.interviews(id).isEmpty) }

        let adaInterview = try #require(await env.interviews(ada).first)
        #expect(adaInterview.firstName == "Ada")
        #expect(adaInterview.lastName == "Lovelace")
        #expect(adaInterview.email == "ada@example.com")
        #expect(adaInterview.phoneNumber == "+4670")
        #expect(adaInterview.templateId == TestEnvironment.templateA)
        #expect(adaInterview.postingId == posting)
        let cherInterview = try #require(await env.interviews(cher).first)
        #expect(cherInterview.firstName == "Cher")
        #expect(cherInterview.lastName == nil)

        // A second pass (the same window overlaps by the lookback) writes nothing.
        await tick()
        let again = try await env.pass()
        #expect(again.exitCode == 0)
        #expect(again.actions.isEmpty)
        for count in await env.hubert.emailsSent.values { #expect(count == 1) }
        #expect(await env.hubert.interviews.count == 2)

        let record = try #require(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA))
        #expect(record.state == .sent)
        #expect(record.stageAtInvitation == "applicant-new")
    }

    @Test func firstPassOnANewDatabaseInvitesNobodyWhoAppliedBefore() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let early = await env.lever.addOpportunity(name: "Early Bird", emails: ["e@example.com"], posting: posting)
        await tick()
        let first = try await env.pass()
        #expect(first.exitCode == 0)
        #expect(first.actions.isEmpty)
        await tick()
        let second = try await env.pass()
        #expect(second.actions.isEmpty, "applied before the baseline")
        #expect(await env.interviews(early).isEmpty)
        let checkpoints = try await env.store().checkpoints()
        #expect(checkpoints[SyncEngine.leverStream] != nil)
        #expect(checkpoints[SyncEngine.hubertStream] != nil)
    }

    @Test func aPostingTaggedLaterInvitesOnlyApplicantsAfterTheTagWasSeen() async throws {
        let env = try await TestEnvironment()
        let posting = await env.lever.addPosting(text: "Later", tags: [])
        let before = await env.lever.addOpportunity(name: "Before Tag", emails: ["b@example.com"], posting: posting)
        await tick()
        _ = try await env.pass()
        await tick()
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(TestEnvironment.templateA)"])
        let after = await env.lever.addOpportunity(name: "After Tag", emails: ["a@example.com"], posting: posting)
        let report = try await env.pass()
        #expect(report.actions.map(\.opportunityId) == [after])
        #expect(await env.interviews(before).isEmpty)
    }

    @Test func aCandidateMovedIntoNewApplicantIsInvited() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let referral = await env.lever.addOpportunity(
            name: "Referred Person", emails: ["r@example.com"], posting: posting, stage: "lead-new")
        await tick()
        _ = try await env.pass()
        await tick()
        await env.lever.move(referral, to: "applicant-new")
        let report = try await env.pass()
        #expect(
            report.actions == [
                .invite(opportunityId: referral, postingId: posting, templateId: TestEnvironment.templateA)
            ])
    }

    @Test func badPostingTagsAndUnknownTemplatesAreReportedAndNobodyIsInvited() async throws {
        let env = try await TestEnvironment()
        await env.hubert.addTemplate(id: "aaaaaaaaaaaaaaaaaaaaaaaa", name: "Retired", status: "archived")
        let malformed = await env.lever.addPosting(text: "Malformed", tags: ["Hubert: 12345"])
        let double = await env.lever.addPosting(
            text: "Double", tags: ["Hubert: \(TestEnvironment.templateA)", "Hubert: \(TestEnvironment.templateB)"])
        let unknown = await env.lever.addPosting(text: "Unknown", tags: ["Hubert: bbbbbbbbbbbbbbbbbbbbbbbb"])
        let inactive = await env.lever.addPosting(text: "Inactive", tags: ["Hubert: aaaaaaaaaaaaaaaaaaaaaaaa"])
        _ = try await env.pass()
        await tick()
        for posting in [malformed, double, unknown, inactive] {
            _ = await env.lever.addOpportunity(name: "Some One", emails: ["s@example.com"], posting: posting)
        }
        let report = try await env.pass()
        #expect(report.exitCode == 0)
        #expect(report.actions.isEmpty)
        let reasons = Dictionary(
            report.problems.compactMap { p in p.postingId.map { ($0, p.reason) } }, uniquingKeysWith: { a, _ in a })
        #expect(reasons[malformed] == "invalid_hubert_tag")
        #expect(reasons[double] == "multiple_hubert_tags")
        #expect(reasons[unknown] == "unknown_template")
        #expect(reasons[inactive] == "template_inactive")
        #expect(await env.hubert.interviews.isEmpty)
    }

    /// Baseline, one invited applicant, and its Hubert interview id.
    static func invited(_ env: TestEnvironment, autoMove: String = autoMove, name: String = "Ada Lovelace")
        async throws -> (posting: String, opportunity: String, interview: String)
    {
        let posting = try await baseline(env)
        let opportunity = await env.lever.addOpportunity(name: name, emails: ["ada@example.com"], posting: posting)
        let report = try await env.pass(autoMove: autoMove)
        #expect(report.counts.invitationsSent == 1)
        let interview = try #require(await env.interviews(opportunity).first)
        await tick()
        return (posting, opportunity, interview.id)
    }

    @Test func aCompletedInterviewGivesExactlyTheTagNoteLinkAndMove() async throws {
        let env = try await TestEnvironment()
        let (_, opportunity, interview) = try await Self.invited(env)
        await env.hubert.complete(interview, grade: .lead, score: 82.5)
        let report = try await env.pass(autoMove: Self.autoMove)
        #expect(report.exitCode == 0)
        #expect(report.counts.resultsApplied == 1)
        #expect(report.counts.tagsAdded == 1)
        #expect(report.counts.notesAdded == 1)
        #expect(report.counts.linksAdded == 1)
        #expect(report.counts.stageMoves == 1)
        let o = try #require(await env.lever.opportunity(opportunity))
        #expect(o.tags == ["Hubert: Lead"])
        #expect(o.links == ["https://app.hubert.ai/applications/\(interview)"])
        #expect(o.stage == TestEnvironment.phoneScreen)
        #expect(o.stageChanges.last?.userId == "0f1e2d3c-4b5a-4697-8877-665544332211", "written as the perform-as user")
        let notes = await env.lever.notesOf(opportunity)
        #expect(notes.count == 1)
        let text = try #require(notes.first?.text)
        #expect(text.contains("Lead") && text.contains("82.5") && text.contains("threshold 70"))
        #expect(text.contains("https://app.hubert.ai/applications/\(interview)/summary"))

        let again = try await env.pass(autoMove: Self.autoMove)
        #expect(again.actions.isEmpty)
        #expect(await env.lever.notesOf(opportunity).count == 1)
    }

    @Test func perPostingOverrideWinsOverTheGlobalMove() async throws {
        let env = try await TestEnvironment()
        let posting = try await Self.baseline(env)
        let autoMove = """
            autoMove:
              lead: Phone screen
              postings:
                \(posting):
                  lead: Onsite interview
            """
        let opportunity = await env.lever.addOpportunity(
            name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        _ = try await env.pass(autoMove: autoMove)
        let interview = try #require(await env.interviews(opportunity).first)
        await tick()
        await env.hubert.complete(interview.id, grade: .lead, score: 90)
        let report = try await env.pass(autoMove: autoMove)
        #expect(
            report.actions.contains {
                $0 == .moveStage(opportunityId: $0.opportunityId, stageId: TestEnvironment.onsite)
            })
        #expect(await env.lever.opportunity(opportunity)?.stage == TestEnvironment.onsite)
    }

    @Test func aHumanMovedTheCandidateSoThereIsNoAutoMove() async throws {
        let env = try await TestEnvironment()
        let (_, opportunity, interview) = try await Self.invited(env)
        await env.lever.move(opportunity, to: "lead-reached-out", by: "someone-else")
        await env.hubert.complete(interview, grade: .lead, score: 95)
        let report = try await env.pass(autoMove: Self.autoMove)
        #expect(report.counts.stageMoves == 0)
        #expect(report.counts.tagsAdded == 1)
        #expect(await env.lever.opportunity(opportunity)?.stage == "lead-reached-out")
    }

    @Test func aRegradeReplacesTheTagAddsOneNoteAndMovesUnderTheSameRule() async throws {
        let env = try await TestEnvironment()
        let (_, opportunity, interview) = try await Self.invited(env)
        await env.hubert.complete(interview, grade: .passed, score: 64)
        let first = try await env.pass(autoMove: Self.autoMove)
        #expect(first.counts.stageMoves == 0, "no move configured for passed")
        await tick()
        await env.hubert.complete(interview, grade: .lead, score: 75)
        let regrade = try await env.pass(autoMove: Self.autoMove)
        #expect(
            regrade.actions.map(\.type).sorted { $0.rawValue < $1.rawValue } == [
                .addNote, .addTag, .moveStage, .removeTag,
            ])
        let o = try #require(await env.lever.opportunity(opportunity))
        #expect(o.tags == ["Hubert: Lead"])
        #expect(o.links.count == 1)
        #expect(o.stage == TestEnvironment.phoneScreen)
        let notes = await env.lever.notesOf(opportunity)
        #expect(notes.count == 2)
        #expect(notes.last?.text.contains("regraded: Lead") == true)
        #expect(try await env.pass(autoMove: Self.autoMove).actions.isEmpty)
    }

    @Test func aDryRunWritesNothingAndEqualsTheFollowingRealRun() async throws {
        let env = try await TestEnvironment()
        let (posting, _, interview) = try await Self.invited(env)
        await env.hubert.complete(interview, grade: .lead, score: 88)
        let newcomer = await env.lever.addOpportunity(name: "New Comer", emails: ["n@example.com"], posting: posting)
        let before = await env.snapshot()
        let dbBefore = try await env.databaseSnapshot()
        let checkpointsBefore = try await env.store().checkpoints()

        let dry = try await env.pass(dryRun: true, autoMove: Self.autoMove)
        #expect(dry.exitCode == 0)
        #expect(dry.dryRun)
        #expect(await env.snapshot() == before, "a dry run must not write to Lever or Hubert")
        #expect(try await env.store().checkpoints() == checkpointsBefore)
        #expect(try await env.databaseSnapshot() == dbBefore, "a dry run must not change the database")
        #expect(
            dry.actions.contains(
                .invite(opportunityId: newcomer, postingId: posting, templateId: TestEnvironment.templateA)))
        #expect(dry.actions.contains { $0.type == .moveStage })

        let real = try await env.pass(autoMove: Self.autoMove)
        #expect(Set(real.actions) == Set(dry.actions))
        #expect(real.actions.count == dry.actions.count)
        #expect(real.counts == dry.counts)
    }

    @Test func aDryRunOnANewDatabaseCreatesNoFile() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let report = try await env.pass(dryRun: true)
        #expect(report.exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: env.databasePath))
    }

    @Test func backfillInvitesAPastWindowsApplicantsOnceWithoutMovingTheCheckpoint() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let past = await env.lever.addOpportunity(
            name: "Past Applicant", emails: ["p@example.com"], posting: posting,
            createdAt: Date().millis - 3 * 86_400_000)
        let older = await env.lever.addOpportunity(
            name: "Much Older", emails: ["m@example.com"], posting: posting,
            createdAt: Date().millis - 30 * 86_400_000)
        await tick()
        _ = try await env.pass()
        let live = try #require(try await env.store().checkpoint(SyncEngine.leverStream))
        let since = Date().millis - 7 * 86_400_000
        let mode = PassMode.backfill(since: since, until: Date().millis, postingIds: [])
        let dry = try await env.pass(mode, dryRun: true)
        let backfill = try await env.pass(mode)
        #expect(backfill.exitCode == 0)
        #expect(
            backfill.actions == [
                .invite(opportunityId: past, postingId: posting, templateId: TestEnvironment.templateA)
            ])
        #expect(dry.actions == backfill.actions)
        #expect(await env.interviews(older).isEmpty)
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) == live)
        let again = try await env.pass(mode)
        #expect(again.actions.isEmpty)
        #expect(await env.hubert.emailsSent.values.allSatisfy { $0 == 1 })
    }

    @Test func backfillLimitedToAPosting() async throws {
        let env = try await TestEnvironment()
        let a = await env.taggedPosting()
        let b = await env.taggedPosting(TestEnvironment.templateB, text: "Support")
        let inA = await env.lever.addOpportunity(
            name: "In A", emails: ["a@example.com"], posting: a, createdAt: Date().millis - 86_400_000)
        let inB = await env.lever.addOpportunity(
            name: "In B", emails: ["b@example.com"], posting: b, createdAt: Date().millis - 86_400_000)
        let report = try await env.pass(
            .backfill(since: Date().millis - 2 * 86_400_000, until: Date().millis, postingIds: [b]))
        #expect(report.actions.map(\.opportunityId) == [inB])
        #expect(await env.interviews(inA).isEmpty)
    }

    @Test func withoutExpandedApplicationsThePostingIsStillFound() async throws {
        let env = try await TestEnvironment()
        let a = await env.taggedPosting()
        let b = await env.taggedPosting(TestEnvironment.templateB, text: "Support")
        _ = try await env.pass()
        await tick()
        await env.lever.setIgnoresExpand(true)
        let inA = await env.lever.addOpportunity(name: "In A", emails: ["a@example.com"], posting: a)
        let inB = await env.lever.addOpportunity(name: "In B", emails: ["b@example.com"], posting: b)
        let report = try await env.pass()
        #expect(
            Set(report.actions) == [
                .invite(opportunityId: inA, postingId: a, templateId: TestEnvironment.templateA),
                .invite(opportunityId: inB, postingId: b, templateId: TestEnvironment.templateB),
            ])
    }

    @Test func manyPagesAreFollowedWithOpaqueTokens() async throws {
        let env = try await TestEnvironment()
        let posting = try await Self.baseline(env)
        for i in 0..<230 {
            _ = await env.lever.addOpportunity(name: "Person \(i)", emails: ["p\(i)@example.com"], posting: posting)
        }
        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(report.counts.invitationsSent == 230)
        #expect(report.counts.opportunitiesScanned == 230)
        #expect(await env.hubert.interviews.count == 230)
    }
}
