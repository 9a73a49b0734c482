import Foundation
import GRDB
import Logging
import Sandbox
import Testing

@testable import LeverHubertSync

/// Issue #20: whatever one item does — any status, any timeout, any body, for any number of days — the pass reports
/// that item, serves every other item, exits 0 and moves its checkpoints; the item is tried again on later passes and
/// given up only after both the horizon and several real tries. Staged through the built binary against the
/// sandboxes over loopback, as cron runs it (the clock-dependent cases in-process, with an injected clock).
@Suite struct OneItemTests {
    static let day: Millis = 86_400_000

    /// Writes the test configuration (optionally with `extra` lines) beside the database; returns its path.
    static func writeConfig(_ env: TestEnvironment, extra: String = "", name: String = "lever-hubert-sync.yml")
        throws -> String
    {
        let path = env.directory.appendingPathComponent(name).path
        try env.yaml(autoMove: NeverStuckTests.autoMove, extra: extra).write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func run(_ env: TestEnvironment, _ config: String, _ more: [String] = []) async throws
        -> BinaryRunner.Result
    {
        try await BinaryRunner.run(["run", "--json", "--config", config] + more, environment: env.environment)
    }

    /// A tagged posting, the test configuration, and a baseline pass through the binary (then a tick): where most
    /// cases here start.
    static func baseline(_ env: TestEnvironment) async throws -> (posting: String, config: String) {
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        #expect(try await run(env, config).status == 0, "baseline")
        await tick()
        return (posting, config)
    }

    static func problems(_ result: BinaryRunner.Result) -> [[String: Any]] {
        result.json?["problems"] as? [[String: Any]] ?? []
    }

    // MARK: One item failing for days

    @Test func aHubert500ForeverForOneCandidateStopsNoOtherInvitation() async throws {
        let env = try await TestEnvironment()
        let (posting, config) = try await Self.baseline(env)
        let stuck = await env.lever.addOpportunity(name: "Zoë Stuck", emails: ["zoe@example.com"], posting: posting)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        let bob = await env.lever.addOpportunity(name: "Bob", emails: ["bob@example.com"], posting: posting)
        await env.hubert.setInvitationFailing(opportunityId: stuck, status: 500)

        let first = try await Self.run(env, config)
        #expect(first.status == 0, "one candidate does not decide the exit: \(first.stderr)")
        #expect(await env.interviews(ada).count == 1, "all others invited")
        #expect(await env.interviews(bob).count == 1)
        let reported = try #require(Self.problems(first).first { $0["opportunityId"] as? String == stuck })
        #expect(reported["reason"] as? String == "invitation_unconfirmed")
        #expect(reported["postingId"] as? String == posting)
        #expect((reported["message"] as? String)?.contains("failing") == true, "\(reported)")
        #expect(reported["failingSince"] is String)
        let checkpoint = try #require(try await env.store().checkpoint(SyncEngine.leverStream))

        // Later passes: newcomers are served first-pass, the one keeps failing and is reported with its age.
        await tick()
        let cleo = await env.lever.addOpportunity(name: "Cleo", emails: ["cleo@example.com"], posting: posting)
        let second = try await Self.run(env, config)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(await env.interviews(cleo).count == 1)
        #expect(Self.problems(second).contains { $0["opportunityId"] as? String == stuck })
        #expect(
            try #require(try await env.store().checkpoint(SyncEngine.leverStream)) > checkpoint, "the checkpoint moves")
        let row = try #require(
            try await env.store().invitation(opportunityId: stuck, templateId: TestEnvironment.templateA))
        #expect(row.state == .pending && row.attempts == 2, "one real try per pass: \(row)")

        // Hubert heals: invited exactly once.
        await env.hubert.setInvitationFailing(opportunityId: stuck, status: nil)
        await tick()
        let healed = try await Self.run(env, config)
        #expect(healed.status == 0, "\(healed.stderr)")
        #expect(await env.interviews(stuck).count == 1)
        #expect(!Self.problems(healed).contains { $0["opportunityId"] as? String == stuck })
        let quiet = try await Self.run(env, config)
        #expect((quiet.json?["actions"] as? [Any])?.isEmpty == true, "nothing left to do: \(quiet.stdout)")
        #expect(await env.hubert.emailsSent.values.allSatisfy { $0 == 1 })
        #expect(await env.hubert.emailsSent.count == 4)
    }

    @Test func aLever500ForeverOnOneOpportunityStopsNoOtherResult() async throws {
        let env = try await TestEnvironment()
        let (posting, config) = try await Self.baseline(env)
        let stuck = await env.lever.addOpportunity(name: "Zoë Stuck", emails: ["zoe@example.com"], posting: posting)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        #expect(try await Self.run(env, config).status == 0)
        for id in [stuck, ada] {
            let interview = try #require(await env.interviews(id).first)
            await env.hubert.complete(interview.id, grade: .lead, score: 90)
        }
        await env.lever.setOpportunityFailing(stuck, status: 500)
        await tick()
        let before = try await env.store().checkpoint(SyncEngine.hubertStream)

        let failing = try await Self.run(env, config)
        #expect(failing.status == 0, "one opportunity does not decide the exit: \(failing.stderr)")
        #expect(await env.lever.notesOf(ada).count == 1, "every other result is written back")
        let reported = try #require(Self.problems(failing).first { $0["opportunityId"] as? String == stuck })
        #expect(reported["reason"] as? String == "write_back_failed")
        #expect((reported["message"] as? String)?.contains("failing") == true)
        let moved = try #require(try await env.store().checkpoint(SyncEngine.hubertStream))
        #expect(moved > (try #require(before)), "the checkpoint moves")
        await tick()
        let again = try await Self.run(env, config)
        #expect(again.status == 0)
        #expect(Self.problems(again).contains { $0["opportunityId"] as? String == stuck })
        let due = try #require(try await env.store().unfinishedResults().first)
        #expect(due.attempts == 2, "each pass is a real try: \(due)")

        await env.lever.setOpportunityFailing(stuck, status: nil)
        await tick()
        let healed = try await Self.run(env, config)
        #expect(healed.status == 0, "\(healed.stderr)")
        #expect(await env.lever.notesOf(stuck).count == 1, "written back once Lever heals")
        #expect(await env.lever.opportunity(stuck)?.tags == ["Hubert: Lead"])
        let quiet = try await Self.run(env, config)
        #expect((quiet.json?["actions"] as? [Any])?.isEmpty == true, "nothing left to do: \(quiet.stdout)")
        #expect(await env.lever.notesOf(stuck).count == 1)
        #expect(await env.lever.notesOf(ada).count == 1)
    }

    @Test func everyInvitationFailingWhileHubertAnswersItsListIsTheItemsProblemNotTheServices() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        var ids: [String] = []
        for n in 0..<6 {
            let id = await env.lever.addOpportunity(name: "P\(n)", emails: ["p\(n)@example.com"], posting: posting)
            await env.hubert.setInvitationFailing(opportunityId: id, status: 503)
            ids.append(id)
        }
        let before = try await env.store().checkpoint(SyncEngine.leverStream)
        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(Set(report.problems.compactMap(\.opportunityId)) == Set(ids))
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) != before, "the checkpoints move")
        #expect(try await env.store().pendingInvitations().count == 6, "nothing is lost: six intents wait")
        // Failing for days: still exit 0, each tried again.
        await tick()
        #expect(try await env.pass().exitCode == 0)
        for id in ids { await env.hubert.setInvitationFailing(opportunityId: id, status: nil) }
        await tick()
        #expect(try await env.pass().exitCode == 0)
        for id in ids { #expect(await env.interviews(id).count == 1) }
    }

    @Test func aServiceWhoseListsFailIsTheServiceFailing() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        _ = await env.lever.addOpportunity(name: "P", emails: ["p@example.com"], posting: posting)
        let before = try await env.store().checkpoint(SyncEngine.leverStream)
        var faults = SandboxFaults()
        faults.serverErrorRate = 1
        await env.hubert.setFaults(faults)
        let report = try await env.pass()
        #expect(report.exitCode == 75, "\(report.message ?? "")")
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) == before, "the checkpoint holds")
        await env.hubert.setFaults(SandboxFaults())
        #expect(try await env.pass().exitCode == 0)
    }

    @Test func fiveResultsFailingForDaysInAQuietPassStopNothing() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        var ids: [String] = []
        for n in 0..<5 {
            ids.append(
                await env.lever.addOpportunity(name: "R\(n)", emails: ["r\(n)@example.com"], posting: posting))
        }
        #expect(try await env.pass().counts.invitationsSent == 5)
        for id in ids {
            let interview = try #require(await env.interviews(id).first)
            await env.hubert.complete(interview.id, grade: .lead, score: 90)
            await env.lever.setOpportunityFailing(id, status: 500)
        }
        await tick()
        for day in 0..<3 {
            let report = try await env.pass(clockOffset: Millis(day) * 86_400_000)
            #expect(report.exitCode == 0, "day \(day): \(report.message ?? "")")
            #expect(Set(report.problems.compactMap(\.opportunityId)) == Set(ids))
        }
        for id in ids { await env.lever.setOpportunityFailing(id, status: nil) }
        await tick()
        #expect(try await env.pass(clockOffset: 3 * 86_400_000).counts.resultsApplied == 5)
        for id in ids { #expect(await env.lever.notesOf(id).count == 1) }
    }

    // MARK: Give-up needs the horizon and real tries

    @Test func aPendingIntentAfterAThirtyDayPauseIsSentNotGivenUp() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        // The process died right after recording the intent; then the tool was paused for thirty days.
        try await env.recordPendingIntent(ada, posting: posting)
        let report = try await env.pass(clockOffset: 30 * Self.day)
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(!report.problems.contains { $0.reason == "invitation_given_up" }, "\(report.problems)")
        #expect(await env.interviews(ada).count == 1, "sent now")
        #expect(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA)?.state == .sent)
    }

    @Test func anIntentIsGivenUpOnlyAfterTheHorizonAndThreeFailedTries() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        await env.hubert.setInvitationFailing(opportunityId: ada, status: 500)
        #expect(try await env.pass().exitCode == 0, "try 1")
        let late = try await env.pass(clockOffset: 8 * Self.day)
        #expect(late.exitCode == 0)
        #expect(late.problems.contains { $0.opportunityId == ada && $0.reason == "invitation_unconfirmed" }, "try 2")
        let third = try await env.pass(clockOffset: 8 * Self.day + 60_000)
        #expect(third.problems.contains { $0.opportunityId == ada && $0.reason == "invitation_unconfirmed" }, "try 3")
        let given = try await env.pass(clockOffset: 8 * Self.day + 120_000)
        #expect(given.exitCode == 0)
        #expect(given.problems.contains { $0.opportunityId == ada && $0.reason == "invitation_given_up" })
        #expect(
            try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA)?.state
                == .refused)
    }

    // MARK: A list that never ends

    @Test func aRepeatedCursorStopsThePassQuicklyAndMovesNoCheckpoint() async throws {
        let env = try await TestEnvironment()
        let (posting, config) = try await Self.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        let before = try await env.store().checkpoint(SyncEngine.leverStream)
        var loop = SandboxFaults()
        loop.repeatCursor = true
        await env.lever.setFaults(loop)
        // Started as cron would, and stopped by the test after 60 s should it never end (as before: 888 requests in
        // 110 s until killed).
        let output = env.directory.appendingPathComponent("loop.out")
        let child = try BinaryRunner.start(
            ["run", "--json", "--config", config], environment: env.environment, output: output)
        let started = Date()
        while child.isRunning && Date().timeIntervalSince(started) < 60 { try await Task.sleep(for: .milliseconds(20)) }
        let ended = !child.isRunning
        if !ended { child.terminate() }
        let status = await child.wait()
        let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(ended, "bounded, not until killed")
        #expect(status == 75, "\(log)")
        #expect(log.contains("cursor repeated"), "named in the log")
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) == before, "checkpoint unmoved")
        await env.lever.setFaults(SandboxFaults())
        await tick()
        let bob = await env.lever.addOpportunity(name: "Bob", emails: ["bob@example.com"], posting: posting)
        let healed = try await Self.run(env, config)
        #expect(healed.status == 0, "\(healed.stderr)")
        #expect(await env.interviews(ada).count == 1, "everyone invited once")
        #expect(await env.interviews(bob).count == 1)
        #expect(await env.hubert.emailsSent.values.allSatisfy { $0 == 1 })
    }

    @Test func aPassAtItsDeadlineFinishesWhatIsInFlightAndMovesNoCheckpoint() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        var ids: [String] = []
        for n in 0..<150 {
            ids.append(
                await env.lever.addOpportunity(name: "P\(n)", emails: ["p\(n)@example.com"], posting: posting))
        }
        let before = try await env.store().checkpoint(SyncEngine.leverStream)
        // The engine's clock jumps past the 30-minute deadline once the first page's invitations went out, while
        // the second page is on its way (Lever answers slowly).
        let late = Locked(false)
        var slow = SandboxFaults()
        slow.latencyMs = 400
        await env.lever.setFaults(slow)
        let watcher = Task {
            while await env.hubert.emailsSent.count < 100 { try? await Task.sleep(for: .milliseconds(1)) }
            late.withLock { $0 = true }
        }
        let session = try PassSession(
            config: env.config(), dryRun: false, logger: TestEnvironment.noLogs,
            clock: { Date().millis + (late.withLock { $0 } ? 31 * 60_000 : 0) })
        let report = await session.pass(mode: .live)
        session.close()
        watcher.cancel()
        #expect(report.exitCode == 75, "\(report.message ?? "")")
        #expect(report.message?.contains("deadline") == true)
        #expect(report.counts.invitationsSent == 100, "the page in flight finished, nothing new was taken")
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) == before, "not past unfinished work")
        let runs = try await env.store().read {
            try Int.fetchOne($0, sql: "SELECT exit_code FROM run ORDER BY started_ms DESC")
        }
        #expect(runs == 75, "the run is recorded")

        await env.lever.setFaults(SandboxFaults())
        let next = try await env.pass()
        #expect(next.exitCode == 0, "\(next.message ?? "")")
        #expect(next.counts.invitationsSent == 50)
        #expect(await env.hubert.emailsSent.count == 150)
        #expect(await env.hubert.emailsSent.values.allSatisfy { $0 == 1 }, "each invited once")
    }

    // MARK: One lock per database

    @Test func aDatabaseReachedThroughASymlinkAndByItsRealPathHasOneLock() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let real = try Self.writeConfig(env)
        #expect(try await Self.run(env, real).status == 0, "baseline")
        let alias = env.directory.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: alias, withIntermediateDirectories: true)
        let linked = alias.appendingPathComponent("sync-link.sqlite3").path
        try FileManager.default.createSymbolicLink(atPath: linked, withDestinationPath: env.databasePath)
        #expect(RunLock.lockPath(linked) == RunLock.lockPath(env.databasePath))

        // A run holding the lock by one path keeps out a run, a dry run and a backfill by the other.
        do {
            let holder = try RunLock(databasePath: env.databasePath)
            for arguments in [["run"], ["run", "--dry-run"], ["backfill", "--since", "2026-01-01"]] {
                let other = try await BinaryRunner.run(
                    arguments + ["--config", real, "--database", linked], environment: env.environment)
                #expect(other.status == 75, "\(arguments): \(other.stderr)")
            }
            withExtendedLifetime(holder) {}
        }
        do {
            let holder = try RunLock(databasePath: linked)
            let other = try await BinaryRunner.run(
                ["run", "--config", real], environment: env.environment, directory: env.directory)
            #expect(other.status == 75, "\(other.stderr)")
            // A relative path from the database's directory is the same database too.
            let relative = try await BinaryRunner.run(
                ["run", "--config", real, "--database", "sync.sqlite3"], environment: env.environment,
                directory: env.directory)
            #expect(relative.status == 75, "\(relative.stderr)")
            withExtendedLifetime(holder) {}
        }

        // Two cron jobs at once, one under each path: one note per result.
        await tick()
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        #expect(try await Self.run(env, real).status == 0)
        let interview = try #require(await env.interviews(ada).first)
        await env.hubert.complete(interview.id, grade: .lead, score: 90)
        var slow = SandboxFaults()
        slow.latencyMs = 300
        await env.lever.setFaults(slow)
        let output = env.directory.appendingPathComponent("first.out")
        let first = try BinaryRunner.start(["run", "--config", real], environment: env.environment, output: output)
        try await Task.sleep(for: .milliseconds(400))
        let second = try await BinaryRunner.run(
            ["run", "--config", real, "--database", linked], environment: env.environment)
        let firstStatus = await first.wait()
        #expect(Set([firstStatus, second.status]) == [0, 75], "one ran, the other skipped on the lock")
        #expect(await env.lever.notesOf(ada).count == 1, "one note per result")
    }

    // MARK: check reads one page of one

    @Test func checkMakesOneRequestPerProbeWhateverTheNumberOfOpportunities() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        for n in 0..<2_000 {
            await env.lever.addOpportunity(name: "P\(n)", emails: ["p\(n)@example.com"], posting: posting)
        }
        let config = try Self.writeConfig(env)
        await env.lever.clearLog()
        let started = Date()
        let check = try await BinaryRunner.run(["check", "--config", config], environment: env.environment)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let opportunityRequests = await env.lever.requestLog.filter { $0.hasPrefix("GET /v1/opportunities") }
        #expect(opportunityRequests.count <= 5, "\(opportunityRequests.count) opportunity requests")
        #expect(Date().timeIntervalSince(started) < 20)
    }

    // MARK: Consent fails closed

    @Test func consentThatIsNotClearlyTrueHoldsTheCandidateBackAndReportsIt() async throws {
        let env = try await TestEnvironment()
        let (posting, config) = try await Self.baseline(env)
        let now = Date().millis
        func raw(_ id: String, _ protection: String) -> Data {
            Data(
                (#"{"id": "\#(id)", "name": "Consent Case", "emails": ["\#(id)@example.com"], "#
                    + #""stage": "applicant-new", "createdAt": \#(now), "updatedAt": \#(now), "#
                    + #""applications": [{"id": "a-\#(id)", "posting": "\#(posting)", "createdAt": \#(now)}], "#
                    + #""tags": [], "links": [], "dataProtection": \#(protection)}"#).utf8)
        }
        let unclear = [
            "string-false": #"{"contact": {"allowed": "false", "expiresAt": null}}"#,
            "zero": #"{"contact": {"allowed": 0, "expiresAt": null}}"#,
            "one": #"{"contact": {"allowed": 1, "expiresAt": null}}"#,
            "string-true": #"{"contact": {"allowed": "true", "expiresAt": null}}"#,
            "object": #"{"contact": {"allowed": {}, "expiresAt": null}}"#,
            "contact-text": #"{"contact": "no"}"#,
            "protection-text": #""withdrawn""#,
        ]
        let clear = [
            "true": #"{"contact": {"allowed": true, "expiresAt": null}}"#,
            "null": #"{"contact": {"allowed": null, "expiresAt": null}}"#,
            "absent": #"{"store": {"allowed": true}}"#,
            "no-settings": "null",
        ]
        for (id, protection) in unclear.merging(clear, uniquingKeysWith: { $1 }) {
            await env.lever.setRawOpportunity(id, json: raw(id, protection), posting: posting, createdAt: now)
        }
        await env.lever.setRawOpportunity(
            "false", json: raw("false", #"{"contact": {"allowed": false}}"#), posting: posting, createdAt: now)

        let result = try await Self.run(env, config)
        #expect(result.status == 0, "\(result.stderr)")
        for id in unclear.keys {
            #expect(await env.interviews(id).isEmpty, "\(id) is not invited")
            #expect(
                Self.problems(result).contains {
                    $0["opportunityId"] as? String == id && $0["reason"] as? String == "contact_permission_unreadable"
                }, "\(id) is reported")
        }
        for id in clear.keys { #expect(await env.interviews(id).count == 1, "\(id) is invited") }
        #expect(await env.interviews("false").isEmpty)
    }

    // MARK: Temporary files

    @Test(
        "the metrics file and the funnel page never write through a planted symlink",
        arguments: ["metrics", "page"])
    func temporaryFilesDoNotFollowAPlantedSymlink(_ kind: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-tmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let victim = directory.appendingPathComponent("victim").path
        try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
        let target = directory.appendingPathComponent(kind == "metrics" ? "lhs.prom" : "funnel.html").path
        // The first temporary name the write will try, planted as a symlink to the victim.
        var names = [".planted.tmp", ".fresh.tmp"]
        let planted = directory.appendingPathComponent(".\((target as NSString).lastPathComponent).planted.tmp")
        try FileManager.default.createSymbolicLink(atPath: planted.path, withDestinationPath: victim)
        if kind == "metrics" {
            try MetricsFile.write("lever_hubert_sync_up 1\n", to: target, temporaryName: { names.removeFirst() })
        } else {
            try FunnelPage.write("<!doctype html>\n", to: target, temporaryName: { names.removeFirst() })
        }
        #expect(names.isEmpty, "the planted name was tried first, then passed over")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious", "nothing written through it")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: planted.path) == victim)
        #expect(try String(contentsOfFile: target, encoding: .utf8).hasPrefix(kind == "metrics" ? "lever" : "<!"))
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".tmp") && $0 != planted.lastPathComponent
        }
        #expect(leftovers.isEmpty)
    }

    // MARK: What grows

    @Test func retentionBoundsWhatGrowsAndNoGivenUpStepComesBackAsAnOrphan() async throws {
        let store = try Store()
        // A result given up long ago, whose note intent was never confirmed.
        try await store.recordStepIntent(
            ResultStepRecord(
                interviewId: "iv-old", fingerprint: "f", step: .note, opportunityId: "o1", done: false,
                marker: "[m]"), now: 1_000)
        let due = try await store.markResultDue(
            interviewId: "iv-old", opportunityId: "o1", fingerprint: "f", now: 1_000)
        try await store.giveUpResult(due, now: 2_000)
        #expect(try await store.unfinishedResults().isEmpty)
        // Idle runs, a run that did something, applicants old and new.
        for n in 0..<5 {
            try await store.recordRunEnd(
                id: "idle-\(n)", startedAt: 1_000 + Millis(n), exitCode: 0, countsJSON: "{}", leverRequests: 2,
                hubertRequests: 1, message: nil, idle: true, now: 1_010 + Millis(n))
        }
        try await store.recordRunEnd(
            id: "busy", startedAt: 1_500, exitCode: 0, countsJSON: "{}", leverRequests: 9, hubertRequests: 3,
            message: nil, idle: false, now: 1_510)
        try await store.recordApplicant(
            opportunityId: "o1", postingId: "p", templateId: TestEnvironment.templateA, appliedAt: 1, now: 1_000)

        _ = try await store.prune(before: 3_000, idleRunsBefore: 5_000)
        #expect(try await store.unfinishedResults().isEmpty, "no orphan step: never written a year late")
        let steps = try await store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM result_step") }
        #expect(steps == 0)
        let applicants = try await store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM applicant") }
        #expect(applicants == 0)
        let runs = try await store.read { try String.fetchAll($0, sql: "SELECT id FROM run ORDER BY id") }
        #expect(runs == [], "older than the retention: \(runs)")

        for n in 0..<5 {
            try await store.recordRunEnd(
                id: "idle-\(n)", startedAt: 10_000 + Millis(n), exitCode: 0, countsJSON: "{}", leverRequests: 2,
                hubertRequests: 1, message: nil, idle: true, now: 10_010 + Millis(n))
        }
        try await store.recordRunEnd(
            id: "busy", startedAt: 9_000, exitCode: 0, countsJSON: "{}", leverRequests: 9, hubertRequests: 3,
            message: nil, idle: false, now: 9_010)
        _ = try await store.prune(before: 3_000, idleRunsBefore: 20_000)
        let kept = try await store.read { try String.fetchAll($0, sql: "SELECT id FROM run ORDER BY id") }
        #expect(kept == ["busy", "idle-4"], "a run that did something, and the last success: \(kept)")
    }
}
