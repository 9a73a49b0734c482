import Foundation
import GRDB
import Sandbox
import Testing

@testable import LeverHubertSync

/// Eligibility kept as state: a posting's tag has a life (tagging periods), and held-back candidates heal by
/// themselves on the first pass after a recruiter fixes the cause — real passes over loopback and a real SQLite file.
@Suite struct EligibilityStateTests {
    static func invited(_ report: PassReport) -> Set<String> {
        Set(report.actions.filter { $0.type == .invite }.map(\.opportunityId))
    }

    @Test func everyHeldBackCandidateIsInvitedOnceOnTheFirstPassAfterTheCauseIsFixed() async throws {
        let env = try await TestEnvironment()
        let inactive = "0a1b2c3d4e5f60718293a4b5"
        await env.hubert.addTemplate(id: inactive, name: "Paused", status: "archived")
        let posting = await env.taggedPosting()
        let pausedPosting = await env.taggedPosting(inactive, text: "Driver")
        let malformedPosting = await env.lever.addPosting(text: "Picker", tags: ["Hubert: 61f080d9414018eda48a738"])
        let before = await env.lever.addOpportunity(name: "Early Bird", emails: [], posting: posting)
        await tick()
        let fresh: (inout ConfigFile) -> Void = { $0.sync?.cacheMinutes = 0 }
        #expect(try await env.pass(tweak: fresh).exitCode == 0)
        await tick()
        let noMail = await env.lever.addOpportunity(name: "No Mail", emails: [], posting: posting)
        let badMail = await env.lever.addOpportunity(name: "Bad Mail", emails: ["not-an-email"], posting: posting)
        let optedOut = await env.lever.addOpportunity(
            name: "Opted Out", emails: ["o@example.com"], posting: posting, contactAllowed: false)
        let waiting = await env.lever.addOpportunity(name: "Waits", emails: ["w@example.com"], posting: pausedPosting)
        let mistagged = await env.lever.addOpportunity(
            name: "Mis Tagged", emails: ["m@example.com"], posting: malformedPosting)
        let neverFixed = await env.lever.addOpportunity(name: "Never Fixed", emails: [], posting: posting)

        let first = try await env.pass(tweak: fresh)
        #expect(first.exitCode == 0)
        #expect(Self.invited(first).isEmpty)
        let reasons = Dictionary(
            first.problems.compactMap { p in p.opportunityId.map { ($0, p.reason) } }, uniquingKeysWith: { a, _ in a })
        #expect(reasons[noMail] == "missing_email")
        #expect(reasons[badMail] == "invalid_email")
        #expect(reasons[optedOut] == "contact_forbidden")
        #expect(reasons[waiting] == "template_inactive")
        #expect(reasons[neverFixed] == "missing_email")
        let problem = try #require(first.problems.first { $0.opportunityId == noMail })
        #expect(problem.message.contains("add one and the next pass invites"))
        #expect(problem.url == "https://hire.lever.co/candidates/\(noMail)")
        #expect(problem.candidate == "No Mail")
        #expect(first.problems.contains { $0.postingId == malformedPosting && $0.reason == "invalid_hubert_tag" })

        // Passes that see nothing fixed send nothing, and Hubert is not asked about the refused address again.
        await tick()
        let posts = await env.hubert.requestLog.filter { $0 == "POST /v1/interviews" }.count
        #expect(Self.invited(try await env.pass(tweak: fresh)).isEmpty)
        #expect(await env.hubert.requestLog.filter { $0 == "POST /v1/interviews" }.count == posts)

        // The recruiters fix every cause but one.
        await tick()
        await env.lever.edit(noMail, emails: ["no.mail@example.com"])
        await env.lever.edit(badMail, emails: ["bad.mail@example.com"])
        await env.lever.edit(optedOut, contactAllowed: .some(true))
        await env.hubert.addTemplate(id: inactive, name: "Paused", status: "active")
        await env.lever.setPostingTags(malformedPosting, tags: ["Hubert: \(TestEnvironment.templateA)"])
        await tick()
        let healed = try await env.pass(tweak: fresh)
        #expect(healed.exitCode == 0)
        #expect(Self.invited(healed) == [noMail, badMail, optedOut, waiting, mistagged])
        #expect(healed.problems.contains { $0.opportunityId == neverFixed && $0.reason == "missing_email" })
        for id in [noMail, badMail, optedOut, waiting, mistagged] {
            #expect(await env.interviews(id).count == 1, "exactly one interview for \(id)")
            #expect(!healed.problems.contains { $0.opportunityId == id }, "a healed problem leaves the report")
        }
        #expect(await env.interviews(before).isEmpty, "applied before the tagging period: never made due by an edit")

        // Edits after the invitation change nothing; the applicant from before the tag stays uninvited.
        await tick()
        await env.lever.edit(noMail, emails: ["other@example.com"])
        await env.lever.edit(before, emails: ["early@example.com"])
        await tick()
        let after = try await env.pass(tweak: fresh)
        #expect(Self.invited(after).isEmpty)
        #expect(await env.interviews(before).isEmpty)
        let status = try await StatusReport.load(store: env.store(), now: Date().millis)
        #expect(status.problems.contains { $0.opportunityId == neverFixed && $0.reason == "missing_email" })
        #expect(!status.problems.contains { $0.opportunityId == noMail })
        #expect(status.held == ["missing_email": 1])
    }

    @Test func aHeldCandidateWhoLeftNewApplicantOrWasArchivedIsNotInvitedWhenFixed() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let moved = await env.lever.addOpportunity(name: "Moved On", emails: [], posting: posting)
        let archived = await env.lever.addOpportunity(name: "Archived", emails: [], posting: posting)
        #expect(try await env.pass().problems.filter { $0.reason == "missing_email" }.count == 2)
        await tick()
        await env.lever.move(moved, to: TestEnvironment.phoneScreen)
        await env.lever.archive(archived)
        await env.lever.edit(moved, emails: ["moved@example.com"])
        await env.lever.edit(archived, emails: ["archived@example.com"])
        await tick()
        let report = try await env.pass()
        #expect(Self.invited(report).isEmpty)
        #expect(try await env.store().holdCounts().isEmpty, "no longer due: the holds are let go")
    }

    @Test func aCandidateHeldLongerThanHoldDaysIsGivenUpOnceAndNeverInvitedByAPass() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let held = await env.lever.addOpportunity(name: "Slow Fix", emails: [], posting: posting)
        #expect(try await env.pass().problems.contains { $0.opportunityId == held && $0.reason == "missing_email" })
        let day: Millis = 86_400_000
        let holdTwo: (inout ConfigFile) -> Void = { $0.sync?.holdDays = 2 }
        // One day on: still held.
        let dayOne = try await env.pass(clockOffset: day, tweak: holdTwo)
        #expect(!dayOne.problems.contains { $0.reason == "hold_given_up" })
        // Three days on: given up, reported once.
        let given = try await env.pass(clockOffset: 3 * day, tweak: holdTwo)
        #expect(given.problems.filter { $0.opportunityId == held && $0.reason == "hold_given_up" }.count == 1)
        let again = try await env.pass(clockOffset: 3 * day + 1000, tweak: holdTwo)
        #expect(!again.problems.contains { $0.reason == "hold_given_up" })
        // Fixed after the horizon: a pass does not invite it.
        await env.lever.edit(held, emails: ["late@example.com"])
        await tick()
        let late = try await env.pass(clockOffset: 3 * day + 2000, tweak: holdTwo)
        #expect(Self.invited(late).isEmpty)
        #expect(await env.interviews(held).isEmpty)
        #expect(try await env.store().holdCounts() == ["hold_given_up": 1])
    }

    @Test func aTagSwitchedRemovedAndPutBackInvitesOnlyTheCurrentPeriodsApplicants() async throws {
        let env = try await TestEnvironment()
        let (t1, t2) = (TestEnvironment.templateA, TestEnvironment.templateB)
        let posting = try await EndToEndTests.baseline(env)
        let a = await env.lever.addOpportunity(name: "A One", emails: ["a@example.com"], posting: posting)
        #expect(Self.invited(try await env.pass()) == [a])

        await tick()
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(t2)"])
        await tick()
        let b = await env.lever.addOpportunity(name: "B Two", emails: ["b@example.com"], posting: posting)
        let switched = try await env.pass()
        #expect(Self.invited(switched) == [b])
        #expect(await env.interviews(b).map(\.templateId) == [t2])

        await tick()
        await env.lever.setPostingTags(posting, tags: ["Full-time"])
        await tick()
        let c = await env.lever.addOpportunity(name: "C Three", emails: ["c@example.com"], posting: posting)
        #expect(Self.invited(try await env.pass()).isEmpty)

        await tick()
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(t1)"])
        await tick()
        let d = await env.lever.addOpportunity(name: "D Four", emails: ["d@example.com"], posting: posting)
        let back = try await env.pass()
        #expect(Self.invited(back) == [d], "not the untagged-time applicant, not T2's, not T1's first period twice")
        for id in [a, b, d] { #expect(await env.interviews(id).count == 1) }
        #expect(await env.interviews(c).isEmpty)

        let periods = try await env.store().taggingPeriods(postingId: posting)
        #expect(periods.map(\.templateId) == [t1, t2, t1])
        #expect(periods.map { $0.end == nil } == [false, false, true])
        let status = try await StatusReport.load(store: env.store(), now: Date().millis)
        let current = try #require(status.postings.first { $0.postingId == posting })
        #expect(current.templateId == t1)
        #expect(current.periodEnd == nil)
        #expect(current.periodStart == periods.last.map { RFC3339.format($0.start) })
    }
}

/// `explain` through the binary: its verdict for every candidate of the tag's life, held against what the next pass
/// does.
@Suite struct ExplainTests {
    func explain(_ env: TestEnvironment, _ config: String, _ id: String) async throws -> [String: [String: Any]] {
        let result = try await BinaryRunner.run(
            ["explain", id, "--json", "--config", config], environment: env.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json, "explain --json prints one object: \(result.stdout)")
        #expect(json["opportunityId"] as? String == id)
        var byTemplate: [String: [String: Any]] = [:]
        for entry in json["templates"] as? [[String: Any]] ?? [] {
            byTemplate[entry["templateId"] as? String ?? "-"] = entry
        }
        return byTemplate
    }

    func decisions(_ env: TestEnvironment, _ config: String, _ ids: [String: String]) async throws
        -> [String: [String: String]]
    {
        var result: [String: [String: String]] = [:]
        for (name, id) in ids {
            for (template, entry) in try await explain(env, config, id) {
                let decision = entry["decision"] as? String ?? "?"
                result[name, default: [:]][template] = decision + ((entry["reason"] as? String).map { ":" + $0 } ?? "")
            }
        }
        return result
    }

    @Test func explainSaysWhatTheNextPassDoesForEveryCandidateOfATagsLife() async throws {
        let env = try await TestEnvironment()
        let (t1, t2) = (TestEnvironment.templateA, TestEnvironment.templateB)
        let config = try CLITests().writeConfig(env)
        let posting = await env.taggedPosting()
        let early = await env.lever.addOpportunity(name: "Early", emails: ["e@example.com"], posting: posting)
        await tick()
        _ = try await env.pass()
        await tick()
        let a = await env.lever.addOpportunity(name: "A One", emails: ["a@example.com"], posting: posting)
        let n = await env.lever.addOpportunity(name: "No Mail", emails: [], posting: posting)
        _ = try await env.pass()
        await tick()
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(t2)"])
        await tick()
        let b = await env.lever.addOpportunity(name: "B Two", emails: ["b@example.com"], posting: posting)
        _ = try await env.pass()
        await tick()
        await env.lever.setPostingTags(posting, tags: [])
        await tick()
        let c = await env.lever.addOpportunity(name: "C Three", emails: ["c@example.com"], posting: posting)
        _ = try await env.pass()
        await tick()
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(t1)"])
        await tick()
        let d = await env.lever.addOpportunity(name: "D Four", emails: ["d@example.com"], posting: posting)
        // The posting's new period is seen by the next pass; explain decides from the store as it stands, so one
        // pass first records the period (d is invited by it), then explain is checked against the pass after.
        let ids = ["early": early, "a": a, "n": n, "b": b, "c": c, "d": d]
        let seen = try await env.pass()
        #expect(EligibilityStateTests.invited(seen) == [d])
        await tick()
        await env.lever.edit(n, emails: ["n@example.com"])
        let verdicts = try await decisions(env, config, ids)
        #expect(verdicts["early"] == [t1: "not_due:before_tagging_period", t2: "not_due:before_tagging_period"])
        #expect(verdicts["a"]?[t1] == "invited")
        #expect(verdicts["a"]?[t2] == "not_due:before_tagging_period")
        #expect(verdicts["n"]?[t1] == "due", "held for its e-mail, now added: the next pass invites")
        #expect(verdicts["b"]?[t2] == "invited")
        #expect(verdicts["b"]?[t1] == "not_due:outside_tagging_period")
        #expect(verdicts["c"] == [t1: "not_due:outside_tagging_period", t2: "not_due:outside_tagging_period"])
        #expect(verdicts["d"]?[t1] == "invited")
        let next = try await env.pass()
        let due = Set(ids.filter { verdicts[$0.key]?.values.contains("due") ?? false }.map(\.value))
        #expect(EligibilityStateTests.invited(next) == due, "explain's verdict is what the next pass did")

        // A held candidate: held, with the reason, since when, and when it is given up.
        await tick()
        let held = await env.lever.addOpportunity(name: "Held", emails: [], posting: posting)
        _ = try await env.pass()
        let entry = try #require(try await explain(env, config, held)[t1])
        #expect(entry["decision"] as? String == "held")
        #expect(entry["reason"] as? String == "missing_email")
        #expect((entry["message"] as? String)?.contains("add one and the next pass invites") == true)
        #expect(entry["since"] is String && entry["givenUpAt"] is String)
        #expect(EligibilityStateTests.invited(try await env.pass()).isEmpty)

        // Unknown: exit 0, decision unknown.
        let unknown = try await BinaryRunner.run(
            ["explain", "0000aaaa-0000-0000-0000-000000000000", "--json", "--config", config],
            environment: env.environment)
        #expect(unknown.status == 0)
        #expect(unknown.json?["decision"] as? String == "unknown")
        // Explain writes nothing.
        let before = try await env.databaseSnapshot()
        _ = try await explain(env, config, held)
        #expect(try await env.databaseSnapshot() == before)
    }
}

/// What a stop, a switch seen late, and an older database do to eligibility.
@Suite struct EligibilityEdgeTests {
    @Test func aCandidateWhoAppliedJustBeforeASwitchIsOwedTheOldTemplate() async throws {
        let env = try await TestEnvironment()
        let (t1, t2) = (TestEnvironment.templateA, TestEnvironment.templateB)
        let posting = try await EndToEndTests.baseline(env)
        let a = await env.lever.addOpportunity(name: "Before Switch", emails: ["a@example.com"], posting: posting)
        await tick()
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(t2)"])
        await tick()
        let b = await env.lever.addOpportunity(name: "After Switch", emails: ["b@example.com"], posting: posting)
        let report = try await env.pass()
        #expect(EligibilityStateTests.invited(report) == [a, b])
        #expect(await env.interviews(a).map(\.templateId) == [t1])
        #expect(await env.interviews(b).map(\.templateId) == [t2])
        // Removed before the next pass: whoever applied while T2 was on still gets T2; nobody after.
        await tick()
        let c = await env.lever.addOpportunity(name: "Before Removal", emails: ["c@example.com"], posting: posting)
        await tick()
        await env.lever.setPostingTags(posting, tags: [])
        await tick()
        let d = await env.lever.addOpportunity(name: "After Removal", emails: ["d@example.com"], posting: posting)
        #expect(EligibilityStateTests.invited(try await env.pass()) == [c])
        #expect(await env.interviews(c).map(\.templateId) == [t2])
        #expect(await env.interviews(d).isEmpty)
        #expect(EligibilityStateTests.invited(try await env.pass()).isEmpty)
    }

    @Test func candidatesOwedByACorrectedTagSurviveAPassKilledBeforeItsCheckpoint() async throws {
        let env = try await TestEnvironment()
        let config = env.directory.appendingPathComponent("lhs.yml").path
        try env.yaml().replacingOccurrences(of: "lookbackMinutes: 10", with: "lookbackMinutes: 0")
            .write(toFile: config, atomically: true, encoding: .utf8)
        func run(killAt: String? = nil) async throws -> BinaryRunner.Result {
            var environment = env.environment
            if let killAt { environment["LHS_TEST_KILL_AT"] = killAt }
            return try await BinaryRunner.run(["run", "--config", config, "--json"], environment: environment)
        }
        let posting = await env.lever.addPosting(text: "Picker", tags: ["Hubert: not-a-template"])
        #expect(try await run().status == 0)
        try await Task.sleep(for: .milliseconds(20))
        let m1 = await env.lever.addOpportunity(name: "Owed One", emails: ["m1@example.com"], posting: posting)
        let m2 = await env.lever.addOpportunity(name: "Owed Two", emails: ["m2@example.com"], posting: posting)
        try await Task.sleep(for: .milliseconds(20))
        let malformed = try await run()
        #expect(malformed.status == 0)
        #expect((malformed.json?["actions"] as? [Any])?.isEmpty == true)
        try await Task.sleep(for: .milliseconds(20))
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(TestEnvironment.templateA)"])
        try await Task.sleep(for: .milliseconds(20))
        // The pass that sees the correction is killed after its first invitation's intent: its window is not done.
        let killed = try await run(killAt: "\(KillPoint.invitationIntentRecorded.rawValue):1")
        #expect(killed.status == SIGKILL, "\(killed.stderr)")
        let next = try await run()
        #expect(next.status == 0, "\(next.stderr)")
        for id in [m1, m2] { #expect(await env.interviews(id).count == 1, "\(id) is owed exactly one interview") }
        // Once a pass has processed its whole window, the correction is done: nothing more is read or sent.
        let quiet = try await run()
        #expect((quiet.json?["actions"] as? [Any])?.isEmpty == true)
        #expect(try await env.store().malformedPostings().corrected.isEmpty)
    }

    @Test func anIdlePassWithHeldCandidatesStillCostsTwoLeverRequestsAndOneHubertRequest() async throws {
        let env = try await TestEnvironment()
        let paused = "0a1b2c3d4e5f60718293a4b5"
        await env.hubert.addTemplate(id: paused, name: "Paused", status: "archived")
        let posting = try await EndToEndTests.baseline(env)
        let pausedPosting = await env.taggedPosting(paused, text: "Driver")
        _ = try await env.pass()
        await tick()
        _ = await env.lever.addOpportunity(name: "No Mail", emails: [], posting: posting)
        _ = await env.lever.addOpportunity(name: "Waits", emails: ["w@example.com"], posting: pausedPosting)
        let held = try await env.pass()
        #expect(
            Set(held.problems.compactMap { $0.opportunityId == nil ? nil : $0.reason }) == [
                "missing_email", "template_inactive",
            ])
        await tick()
        await env.lever.clearLog()
        await env.hubert.clearLog()
        let idle = try await env.pass()
        #expect(idle.exitCode == 0)
        let (leverLines, hubertLines) = (await env.lever.requestLines, await env.hubert.requestLog)
        #expect(idle.requests.lever == 2, "\(leverLines)")
        #expect(idle.requests.hubert == 1, "\(hubertLines)")
        #expect(try await env.store().holdCounts() == ["missing_email": 1, "template_inactive": 1])
    }

    @Test func theMigrationMakesOneOpenPeriodPerCurrentTagAndSendsNothingAgain() async throws {
        let env = try await TestEnvironment()
        let (t1, t2) = (TestEnvironment.templateA, TestEnvironment.templateB)
        let queue = try DatabaseQueue(path: env.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v5-posting-snapshot")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO posting_tag (posting_id, template_id, first_seen_ms, last_seen_ms) VALUES
                        ('p1', ?, 1000, 5000), ('p1', ?, 6000, 9000), ('p2', ?, 1000, 2000), ('p3', ?, 3000, 9000);
                    INSERT INTO posting_snapshot (posting_id, verdict, template_id, read_ms) VALUES
                        ('p1', 'template', ?, 9000), ('p2', 'untagged', NULL, 9000), ('p3', 'template', ?, 9000);
                    INSERT INTO invitation (opportunity_id, template_id, posting_id, idempotency_key, state, interview_id,
                        created_ms, sent_ms, updated_ms) VALUES ('o1', ?, 'p1', 'k1', 'sent', 'iv1', 1500, 1600, 1600);
                    """, arguments: [t1, t2, t1, t1, t2, t1, t1])
        }
        try queue.close()
        let store = try Store(path: env.databasePath)
        let p1 = try await store.taggingPeriods(postingId: "p1")
        #expect(
            p1 == [TaggingPeriod(templateId: t1, start: 1000, end: 5000), TaggingPeriod(templateId: t2, start: 6000)])
        #expect(
            try await store.taggingPeriods(postingId: "p2") == [TaggingPeriod(templateId: t1, start: 1000, end: 2000)])
        #expect(try await store.taggingPeriods(postingId: "p3") == [TaggingPeriod(templateId: t1, start: 3000)])
        #expect(try await store.invitation(opportunityId: "o1", templateId: t1)?.state == .sent)
    }
}

/// A Hubert that keeps the key of a refused (422) body: the corrected candidate is still invited, once.
@Suite struct RefusedKeyTests {
    @Test func aCorrectedAddressIsInvitedOnceEvenWhenHubertKeptTheRefusedKey() async throws {
        let env = try await TestEnvironment()
        await env.hubert.setKeepsRefusedKeys(true)
        let posting = try await EndToEndTests.baseline(env)
        let bad = await env.lever.addOpportunity(name: "Bad Mail", emails: ["not-an-email"], posting: posting)
        let first = try await env.pass()
        #expect(first.problems.contains { $0.opportunityId == bad && $0.reason == "invalid_email" })
        await tick()
        await env.lever.edit(bad, emails: ["good@example.com"])
        await tick()
        let fixed = try await env.pass()
        #expect(fixed.exitCode == 0)
        #expect(EligibilityStateTests.invited(fixed) == [bad])
        #expect(await env.interviews(bad).count == 1)
        #expect(
            try await env.store().invitation(opportunityId: bad, templateId: TestEnvironment.templateA)?.state == .sent)
        await tick()
        #expect(EligibilityStateTests.invited(try await env.pass()).isEmpty)
        #expect(await env.interviews(bad).count == 1)
    }
}
