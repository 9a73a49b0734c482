import Foundation
import GRDB
import Sandbox
import Testing

@testable import LeverHubertSync

/// What months of real operation do to a cron sync: one item refused, a clock that steps, a restored backup,
/// retention, a tag added during a pause. The promise stays: one invitation per (opportunity, template) ever, one
/// note per result, and every healthy posting served whatever one item does.
@Suite struct NeverStuckTests {
    static let day: Millis = 86_400_000
    static let autoMove = "autoMove:\n  lead: Phone screen\n  passed: Onsite interview"
    /// No lookback: a result is seen again only if the ledger keeps it due, not because Hubert's window re-lists it.
    static let noLookback: @Sendable (inout ConfigFile) -> Void = { $0.sync?.lookbackMinutes = 0 }

    /// A baseline, one applicant invited, and (when `grade` is given) the interview completed.
    static func invited(
        _ env: TestEnvironment, posting: String, name: String = "Ada Lovelace",
        grade: HubertGrade? = nil
    ) async throws -> (opportunity: String, interview: String) {
        let id = await env.lever.addOpportunity(
            name: name, emails: ["\(name.prefix(3).lowercased())@example.com"], posting: posting)
        let report = try await env.pass(autoMove: autoMove, tweak: noLookback)
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        let interview = try #require(await env.interviews(id).first, "invited")
        if let grade { await env.hubert.complete(interview.id, grade: grade, score: 80) }
        await tick()
        return (id, interview.id)
    }

    // MARK: 1. One refusal must not stop everything

    @Test func aForbiddenTemplateIsAProblemForItsPostingAndEveryOtherPostingIsServed() async throws {
        let env = try await TestEnvironment()
        let good = await env.taggedPosting(TestEnvironment.templateA)
        let other = await env.taggedPosting(TestEnvironment.templateB, text: "Other workspace")
        await env.hubert.setTemplateForbidden(TestEnvironment.templateB)
        #expect(try await env.pass().exitCode == 0)
        await tick()
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: good)
        let bob = await env.lever.addOpportunity(name: "Bob", emails: ["bob@example.com"], posting: other)
        let report = try await env.pass()
        #expect(report.exitCode == 0, "a 403 on one template is not exit 77: \(report.message ?? "")")
        #expect(await env.interviews(ada).count == 1, "the healthy posting is served")
        #expect(await env.interviews(bob).isEmpty)
        let problem = try #require(report.problems.first { $0.reason == "template_forbidden" }, "\(report.problems)")
        #expect(problem.postingId == other)
        #expect(problem.message.contains(other) && problem.message.contains(TestEnvironment.templateB))
    }

    /// A way an intent recorded before a crash can become impossible to send.
    struct Impossible: Sendable, CustomTestStringConvertible {
        var name: String
        var reason: String
        var testDescription: String { name }
        static let all = [
            Impossible(name: "template forbidden", reason: "template_forbidden"),
            Impossible(name: "template archived", reason: "template_inactive"),
            Impossible(name: "posting untagged", reason: "posting_not_tagged"),
            Impossible(name: "opportunity archived", reason: "opportunity_archived"),
        ]
    }

    @Test(
        "a pending intent that can never be sent is closed as refused, reported, and not retried",
        arguments: Impossible.all)
    func anImpossibleIntentIsClosed(_ impossible: Impossible) async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        // The process died right after recording the intent, before the POST.
        try await env.recordPendingIntent(ada, posting: posting)
        switch impossible.reason {
        case "template_forbidden": await env.hubert.setTemplateForbidden(TestEnvironment.templateA)
        case "template_inactive":
            await env.hubert.addTemplate(id: TestEnvironment.templateA, name: "W", status: "archived")
        case "posting_not_tagged": await env.lever.setPostingTags(posting, tags: ["Full-time"])
        default: await env.lever.archive(ada)
        }
        let noCache: (inout ConfigFile) -> Void = { $0.sync?.cacheMinutes = 0 }
        let report = try await env.pass(tweak: noCache)
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(
            report.problems.contains { $0.opportunityId == ada && $0.reason == impossible.reason }, "\(report.problems)"
        )
        let closed = try #require(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA))
        #expect(closed.state == .refused)
        #expect(try await env.store().pendingInvitations().isEmpty)
        await env.hubert.clearLog()
        let again = try await env.pass(tweak: noCache)
        #expect(again.exitCode == 0)
        #expect(!(await env.hubert.requestLog.contains("POST /v1/interviews")), "never retried")
        #expect(await env.interviews(ada).isEmpty)
    }

    @Test func anIntentWhoseCandidateLeverRefusesIsGivenUpAfterTheHorizon() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        // The process died right after recording the intent; since then Lever refuses the opportunity to this key.
        try await env.recordPendingIntent(ada, posting: posting)
        await env.lever.setOpportunityForbidden(ada)
        let day = Self.day
        for (offset, label) in [(0, "try 1"), (8 * day, "try 2"), (8 * day + 60_000, "try 3")] {
            let report = try await env.pass(clockOffset: offset)
            #expect(report.exitCode == 0, "\(label): \(report.message ?? "")")
            #expect(
                report.problems.contains { $0.opportunityId == ada && $0.reason == "opportunity_forbidden" }, "\(label)"
            )
        }
        let given = try await env.pass(clockOffset: 8 * day + 120_000)
        #expect(given.problems.contains { $0.opportunityId == ada && $0.reason == "invitation_given_up" })
        #expect(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA)?.state
                == .refused)
        #expect(await env.interviews(ada).isEmpty)
    }

    @Test func aForbiddenOpportunityIsAProblemAndItsResultIsWrittenOnceAllowed() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: Self.noLookback).exitCode == 0)
        await tick()
        let (secret, first) = try await Self.invited(env, posting: posting, name: "Confidential Candidate")
        let (open, second) = try await Self.invited(env, posting: posting, name: "Open Candidate")
        await env.hubert.complete(first, grade: .lead, score: 90)
        await env.hubert.complete(second, grade: .passed, score: 60)
        await env.lever.setOpportunityForbidden(secret)
        let report = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(report.exitCode == 0, "a 403 on one opportunity is not exit 77: \(report.message ?? "")")
        #expect(report.problems.contains { $0.opportunityId == secret && $0.reason == "opportunity_forbidden" })
        #expect(await env.lever.notesOf(open).count == 1, "the rest of the pass goes on")
        #expect(await env.lever.notesOf(secret).isEmpty)
        // The Hubert checkpoint moved past the result; the ledger keeps it due.
        await env.lever.setOpportunityForbidden(secret, false)
        await tick()
        let later = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(later.exitCode == 0)
        #expect(await env.lever.notesOf(secret).count == 1)
        #expect(await env.lever.opportunity(secret)?.tags == ["Hubert: Lead"])
        #expect(await env.lever.opportunity(secret)?.stage == TestEnvironment.phoneScreen)
        #expect(try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback).actions.isEmpty)
    }

    @Test func aForbiddenOpportunityAmongNewApplicantsDoesNotStopInvitations() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let secret = await env.lever.addOpportunity(name: "Hidden", emails: ["h@example.com"], posting: posting)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        await env.lever.setOpportunityForbidden(secret)
        await env.lever.setIgnoresExpand(true)  // the posting must be read per opportunity, which Lever refuses
        let other = await env.lever.addPosting(text: "Second", tags: ["Hubert: \(TestEnvironment.templateB)"])
        _ = other
        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(
            report.problems.contains { $0.opportunityId == secret && $0.reason == "opportunity_forbidden" },
            "\(report.problems)")
        #expect(await env.interviews(ada).count == 1)
    }

    @Test func aFailedStepStaysDueAndIsRetriedAfterTheHubertCheckpointMovedOn() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: Self.noLookback).exitCode == 0)
        await tick()
        let (ada, _) = try await Self.invited(env, posting: posting, grade: .lead)
        await env.lever.setWriteFailing("stage", status: 400)
        let first = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(first.exitCode == 0)
        #expect(first.problems.contains { $0.opportunityId == ada && $0.reason == "write_back_failed" })
        #expect(await env.lever.opportunity(ada)?.stage == "applicant-new")
        await env.lever.setWriteFailing("stage", status: nil)
        await tick()
        let second = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(second.exitCode == 0)
        #expect(second.actions.map(\.type) == [.moveStage], "only what was left: \(second.actions)")
        #expect(await env.lever.opportunity(ada)?.stage == TestEnvironment.phoneScreen)
        #expect(await env.lever.notesOf(ada).count == 1)
        #expect(try await env.store().unfinishedResults().isEmpty)
    }

    @Test func aStepFailingLongerThanTheGiveUpPeriodIsGivenUpAndReported() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: Self.noLookback).exitCode == 0)
        await tick()
        let (ada, _) = try await Self.invited(env, posting: posting, grade: .lead)
        await env.lever.setWriteFailing("stage", status: 422)
        #expect(
            try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback).problems.contains {
                $0.reason == "write_back_failed"
            })
        let sixDays = try await env.pass(autoMove: Self.autoMove, clockOffset: 6 * Self.day, tweak: Self.noLookback)
        #expect(
            sixDays.problems.contains { $0.opportunityId == ada && $0.reason == "write_back_failed" }, "still tried")
        let eightDays = try await env.pass(autoMove: Self.autoMove, clockOffset: 8 * Self.day, tweak: Self.noLookback)
        #expect(
            eightDays.problems.contains { $0.opportunityId == ada && $0.reason == "write_back_failed" },
            "past the period but only two failed passes: tried a third time")
        let laterStill = try await env.pass(
            autoMove: Self.autoMove, clockOffset: 8 * Self.day + 60_000, tweak: Self.noLookback)
        #expect(laterStill.exitCode == 0)
        #expect(
            laterStill.problems.contains { $0.opportunityId == ada && $0.reason == "write_back_given_up" },
            "\(laterStill.problems)")
        await env.lever.clearLog()
        let nineDays = try await env.pass(autoMove: Self.autoMove, clockOffset: 9 * Self.day, tweak: Self.noLookback)
        #expect(nineDays.exitCode == 0)
        #expect(
            !(await env.lever.requestLog.contains("PUT /v1/opportunities/\(ada)/stage")), "given up: not tried again")
        let due = try #require(try await env.store().dueResult(interviewId: (await env.interviews(ada)).first!.id))
        #expect(due.state == .givenUp)
    }

    @Test func anOpportunityLeverAnswersWithGarbageIsItsProblemNotThePasss() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: Self.noLookback).exitCode == 0)
        await tick()
        let (odd, first) = try await Self.invited(env, posting: posting, name: "Odd Record")
        let (fine, second) = try await Self.invited(env, posting: posting, name: "Fine Record")
        await env.hubert.complete(first, grade: .lead, score: 90)
        await env.hubert.complete(second, grade: .passed, score: 60)
        await env.lever.setRawOpportunity(
            odd, json: Data(#"{"id": 42, "name": ["not", "a", "name"]}"#.utf8), posting: posting)
        let report = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(report.exitCode == 0, "one unreadable opportunity does not stop every pass: \(report.message ?? "")")
        #expect(
            report.problems.contains { $0.opportunityId == odd && $0.reason == "write_back_failed" },
            "\(report.problems)")
        #expect(await env.lever.notesOf(fine).count == 1)
    }

    @Test func anAnonymizedCandidateWithAResultIsNeitherWrittenNorRemembered() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: Self.noLookback).exitCode == 0)
        await tick()
        let (gone, interview) = try await Self.invited(env, posting: posting, name: "Erased Person")
        await env.hubert.complete(interview, grade: .lead, score: 90)
        let anonymized =
            #"{"id": "\#(gone)", "name": null, "emails": [], "isAnonymized": true, "stage": "applicant-new", "#
            + #""applications": [{"id": "a", "posting": "\#(posting)", "createdAt": 1}], "tags": [], "links": []}"#
        await env.lever.setRawOpportunity(gone, json: Data(anonymized.utf8), posting: posting)
        let report = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(report.exitCode == 0)
        #expect(!report.actions.contains { $0.opportunityId == gone }, "nothing written for an anonymized candidate")
        #expect(await env.lever.notesOf(gone).isEmpty)
        #expect(!(try await env.databaseSnapshot()).contains(gone), "and no row names them")
    }

    // MARK: 2. Time is not monotonic

    @Test(
        "a checkpoint in the future neither traps nor loses an applicant",
        arguments: [1_000, 86_400_000, 3650 * 86_400_000] as [Millis])
    func aCheckpointInTheFuture(_ skew: Millis) async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        try await env.store().setCheckpoints(
            [
                SyncEngine.leverStream: Date().millis + skew,
                SyncEngine.hubertStream: Date().millis + skew,
            ], now: Date().millis)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(await env.interviews(ada).count == 1)
        #expect(
            try await env.store().checkpoint(SyncEngine.leverStream)! <= Date().millis, "brought back to the present")
        await tick()
        let bob = await env.lever.addOpportunity(name: "Bob", emails: ["bob@example.com"], posting: posting)
        let next = try await env.pass()
        #expect(next.actions.map(\.opportunityId) == [bob], "the next window starts where this one ended")
        #expect(await env.hubert.emailsSent.values.allSatisfy { $0 == 1 })
    }

    @Test func aClockThatRanAheadAndCameBackMissesNobody() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        // The host's clock runs a day ahead for two passes, then NTP steps it back.
        #expect(try await env.pass(clockOffset: Self.day).exitCode == 0)
        await tick()
        let bob = await env.lever.addOpportunity(name: "Bob", emails: ["bob@example.com"], posting: posting)
        #expect(try await env.pass(clockOffset: Self.day + 60_000).exitCode == 0)
        await tick()
        let corrected = try await env.pass()
        #expect(corrected.exitCode == 0, "\(corrected.message ?? "")")
        #expect(await env.interviews(ada).count == 1)
        #expect(
            await env.interviews(bob).count == 1,
            "who applied while the clock was wrong is invited after the correction")
        #expect(try await env.pass().actions.isEmpty, "and only once")
    }

    @Test func retryAfterNeverTraps() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(ServiceClient.retryAfter("inf") ?? .zero > ServiceClient.longestRetryAfter)
        #expect(ServiceClient.retryAfter("1e300") ?? .zero > ServiceClient.longestRetryAfter)
        #expect(ServiceClient.retryAfter("-5") == .zero)
        #expect(ServiceClient.retryAfter("-inf") == .zero)
        #expect(ServiceClient.retryAfter("nan") == nil)
        #expect(ServiceClient.retryAfter("soon") == nil)
        #expect(ServiceClient.retryAfter("2.5") == .milliseconds(2500))
        #expect(
            ServiceClient.retryAfter("Fri, 15 Jan 2027 08:00:00 GMT", now: now) ?? .zero
                > ServiceClient.longestRetryAfter)
        #expect(ServiceClient.retryAfter("Thu, 01 Jan 1970 00:00:00 GMT", now: now) == .zero)
        #expect(
            ServiceClient.retryAfter(
                "Fri, 15 Jan 2027 08:00:00 GMT", now: Date(timeIntervalSince1970: 1_800_000_000 + 86_400 * 400))
                == .zero)
    }

    @Test(
        "a Retry-After no pass should wait out stops the pass with 75, quickly",
        arguments: ["inf", "1e300", "99999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
    func anAbsurdRetryAfterStopsThePass(_ value: String) async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        var storm = SandboxFaults()
        storm.storm429 = 100
        storm.stormRetryAfterValue = value
        await env.lever.setFaults(storm)
        let started = Date()
        let report = try await env.pass()
        #expect(report.exitCode == 75, "\(report.message ?? "")")
        #expect(Date().timeIntervalSince(started) < 60, "not waiting out the Retry-After (300 s and more)")
        var ordinary = SandboxFaults()
        ordinary.storm429 = 2
        ordinary.stormRetryAfterValue = "-3"
        await env.lever.setFaults(ordinary)
        #expect(try await env.pass().exitCode == 0, "a negative Retry-After is no wait at all")
    }

    @Test func hugeAndNonFiniteTimestampsDecodeWithoutTrapping() throws {
        for value in ["1e300", "-1e300", "9.3e18", "1.5e12", "\"9999999999999999999999\"", "null", "true"] {
            let json = Data(#"{"id":"x","createdAt":\#(value),"updatedAt":\#(value),"lastAdvancedAt":\#(value)}"#.utf8)
            let o = try JSONDecoder().decode(LeverOpportunity.self, from: json)
            #expect(o.id == "x")
            if value == "1.5e12" { #expect(o.createdAt == 1_500_000_000_000) }
        }
    }

    @Test func windowStartTable() {
        // (checkpoint, now, lastInStep) → (start, skew)
        let lookback: Millis = 600_000
        #expect(
            Planner.windowStart(checkpoint: 10_000_000, now: 20_000_000, lookbackMs: lookback, lastInStep: nil) == (
                9_400_000, nil
            ))
        #expect(
            Planner.windowStart(checkpoint: 100, now: 20_000_000, lookbackMs: lookback, lastInStep: nil) == (0, nil))
        #expect(
            Planner.windowStart(checkpoint: 90_000_000, now: 20_000_000, lookbackMs: lookback, lastInStep: 15_000_000)
                == (14_400_000, 70_000_000))
        #expect(
            Planner.windowStart(checkpoint: 90_000_000, now: 20_000_000, lookbackMs: lookback, lastInStep: nil)
                == (19_400_000, 70_000_000))
        #expect(Planner.windowStart(checkpoint: .max, now: 0, lookbackMs: lookback, lastInStep: nil) == (0, .max))
        #expect(Planner.range(10, 5) == 10...10)
    }

    // MARK: 3. Restores and retention

    /// Copies the database to `path` with SQLite's backup API (what `sqlite3 .backup` does).
    static func backup(_ env: TestEnvironment, to path: String) throws {
        let source = try DatabaseQueue(path: env.databasePath)
        let copy = try DatabaseQueue(path: path)
        try source.backup(to: copy)
    }

    /// Puts a backup in place of the database, as an operator restoring last night's copy would.
    static func restore(_ env: TestEnvironment, from path: String) throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: env.databasePath + suffix) }
        try FileManager.default.copyItem(atPath: path, toPath: env.databasePath)
    }

    @Test func aRestoredBackupWritesNoSecondNoteTagOrMove() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass().exitCode == 0)
        await tick()
        let (ada, interview) = try await Self.invited(env, posting: posting)
        let backupPath = env.directory.appendingPathComponent("last-night.sqlite3").path
        try Self.backup(env, to: backupPath)
        await env.hubert.complete(interview, grade: .lead, score: 90)
        await tick()
        let applied = try await env.pass(autoMove: Self.autoMove)
        #expect(applied.counts.notesAdded == 1)
        #expect(await env.lever.opportunity(ada)?.stage == TestEnvironment.phoneScreen)

        try Self.restore(env, from: backupPath)
        await env.lever.clearLog()
        let afterRestore = try await env.pass(autoMove: Self.autoMove)
        #expect(afterRestore.exitCode == 0, "\(afterRestore.message ?? "")")
        #expect(afterRestore.actions.isEmpty, "no second note, no tag churn, no move: \(afterRestore.actions)")
        #expect(await env.lever.notesOf(ada).count == 1)
        #expect(
            await env.lever.requestLog.filter { $0 == "GET /v1/opportunities/\(ada)/notes" }.count == 1,
            "one notes read")
        #expect(
            try await env.store().appliedFingerprint(interviewId: interview) != nil, "the ledger knows the result again"
        )
        await tick()
        #expect(try await env.pass(autoMove: Self.autoMove).actions.isEmpty)
    }

    @Test func aRestoreNeverMovesACandidateAHumanMovedAfterTheInvitation() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let backupPath = env.directory.appendingPathComponent("before.sqlite3").path
        try Self.backup(env, to: backupPath)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        #expect(try await env.pass(autoMove: Self.autoMove).counts.invitationsSent == 1)
        await tick()
        await env.lever.move(ada, to: TestEnvironment.onsite)  // a recruiter's decision
        try Self.restore(env, from: backupPath)
        await tick()
        // An hour later (the engine's clock): Hubert answers the same key with the first interview.
        let replay = try await env.pass(autoMove: Self.autoMove, clockOffset: 3_600_000)
        #expect(replay.exitCode == 0)
        #expect(replay.counts.invitationsSent == 0, "Hubert answered with the first interview: no e-mail, not counted")
        #expect(await env.hubert.emailsSent.values.reduce(0, +) == 1)
        let interview = try #require(await env.interviews(ada).first)
        await env.hubert.complete(interview.id, grade: .lead, score: 95)
        await tick()
        let result = try await env.pass(autoMove: Self.autoMove)
        #expect(result.exitCode == 0)
        #expect(await env.lever.opportunity(ada)?.tags == ["Hubert: Lead"], "the result was written")
        #expect(!result.actions.contains { $0.type == .moveStage }, "the human's move stands: \(result.actions)")
        #expect(await env.lever.opportunity(ada)?.stage == TestEnvironment.onsite)
    }

    @Test func aBackupOlderThanHubertsKeyMemoryInvitesNobodyTwice() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let backupPath = env.directory.appendingPathComponent("old.sqlite3").path
        try Self.backup(env, to: backupPath)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        #expect(try await env.pass().counts.invitationsSent == 1)
        // Forty days later the backup from before the invitation is restored; Hubert has forgotten the key.
        try Self.restore(env, from: backupPath)
        await env.hubert.forgetIdempotencyKeys()
        let report = try await env.pass(clockOffset: 40 * Self.day)
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(await env.interviews(ada).count == 1, "one invitation ever")
        #expect(await env.hubert.emailsSent.values.reduce(0, +) == 1, "no second e-mail to a real person")
        #expect(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA)?.state == .sent)
    }

    @Test func pruningKeepsOneInvitationEver() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass().exitCode == 0)
        await tick()
        let (ada, _) = try await Self.invited(env, posting: posting, grade: .passed)
        #expect(try await env.pass(autoMove: Self.autoMove).counts.resultsApplied == 1)
        // A year and more later: retention prunes, Hubert has long forgotten the key.
        #expect(try await env.pass(clockOffset: 400 * Self.day).exitCode == 0)
        await env.hubert.forgetIdempotencyKeys()
        await env.lever.move(ada, to: "lead-new")
        await env.lever.move(ada, to: "applicant-new")
        let now = Date().millis
        let report = try await env.pass(.backfill(since: now - 3_600_000, until: now + 3_600_000, postingIds: []))
        #expect(report.exitCode == 0)
        #expect(report.actions.isEmpty, "moved back into New applicant, not invited again: \(report.actions)")
        #expect(await env.hubert.emailsSent.values.reduce(0, +) == 1)
    }

    @Test func aPostingTaggedBetweenPassesInvitesOnlyWhoAppliedAfterTheTag() async throws {
        let env = try await TestEnvironment()
        let posting = await env.lever.addPosting(text: "Warehouse", tags: ["Stockholm"])
        #expect(try await env.pass().exitCode == 0)
        await tick()
        let early = await env.lever.addOpportunity(name: "Early Applicant", emails: ["e@example.com"], posting: posting)
        // The tag is added while the sync is paused (or down).
        #expect(try await env.pass(extra: "", tweak: { $0.sync?.paused = true }).paused)
        await tick()
        await env.lever.setPostingTags(posting, tags: ["Stockholm", "Hubert: \(TestEnvironment.templateA)"])
        await tick()
        let late = await env.lever.addOpportunity(name: "Late Applicant", emails: ["l@example.com"], posting: posting)
        let report = try await env.pass()
        #expect(report.exitCode == 0)
        #expect(report.actions.map(\.opportunityId) == [late], "nobody who applied before the tag: \(report.actions)")
        #expect(await env.interviews(early).isEmpty)
    }

    // MARK: 4. Smaller holes

    @Test func hasNextWithoutANextTokenStopsThePassAndKeepsTheCheckpoint() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let before = try await env.store().checkpoint(SyncEngine.leverStream)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        var faults = SandboxFaults()
        faults.truncatedPages = 10
        await env.lever.setFaults(faults)
        let report = try await env.pass()
        #expect(report.exitCode == 75, "a malformed page is temporary trouble, not the end of the list")
        #expect(report.message?.contains("hasNext") == true, "\(report.message ?? "")")
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) == before)
        await env.lever.setFaults(SandboxFaults())
        #expect(try await env.pass().exitCode == 0)
        #expect(await env.interviews(ada).count == 1)
    }

    @Test func aGradeThisVersionDoesNotKnowIsReportedAndStaysDue() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: Self.noLookback).exitCode == 0)
        await tick()
        let (ada, interview) = try await Self.invited(env, posting: posting, grade: .lead)
        await env.hubert.setRawGrade(interview, "superstar")
        let first = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(first.exitCode == 0)
        #expect(
            first.problems.contains { $0.reason == "unknown_grade" && $0.message.contains("superstar") },
            "\(first.problems)")
        #expect(await env.lever.notesOf(ada).isEmpty)
        #expect(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA)?.interviewId
                == interview)
        let status = try await StatusReport.load(store: env.store(), now: Date().millis)
        #expect(status.invitations.completed == 0, "not recorded as completed")
        await tick()
        let second = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(second.problems.contains { $0.reason == "unknown_grade" }, "still due, still reported")
        await env.hubert.setRawGrade(interview, nil)
        await tick()
        let third = try await env.pass(autoMove: Self.autoMove, tweak: Self.noLookback)
        #expect(third.exitCode == 0)
        #expect(await env.lever.notesOf(ada).count == 1)
    }

    @Test func aDeactivatedPerformAsUserIsAConfigurationError() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let bot = await env.lever.users.first!.id
        await env.lever.deactivateUser(bot)
        let report = try await env.pass()
        #expect(report.exitCode == 78, "never writes as a deactivated user: \(report.message ?? "")")
        #expect(report.message?.contains("lever.performAs") == true)
    }
}
