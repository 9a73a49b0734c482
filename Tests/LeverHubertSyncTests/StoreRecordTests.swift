import Foundation
import GRDB
import Testing

@testable import LeverHubertSync

/// The store's GRDB records against a real SQLite file: the exact strings they store, the rows they read back, the
/// status report of a known ledger, and how a busy database is told apart.
@Suite struct StoreRecordTests {
    static let templateA = String(repeating: "a", count: 24)
    static let templateB = String(repeating: "b", count: 24)

    /// A store on a fresh file in a directory of its own.
    static func fileStore() throws -> (Store, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-store-\(UUID().uuidString)")
        let path = directory.appendingPathComponent("ledger.sqlite").path
        return (try Store(path: path), path)
    }

    /// One column of the rows `sql` selects, as stored.
    static func strings(_ store: Store, _ sql: String) async throws -> [String] {
        try await store.read { db in try String.fetchAll(db, sql: sql) }
    }

    @Test func theStatesAreTheSchemasStrings() {
        #expect(InvitationRecord.State.allCases.map(\.rawValue) == ["pending", "sent", "refused"])
        #expect(ResultStepRecord.State.allCases.map(\.rawValue) == ["pending", "done"])
        #expect(ResultStepRecord.Step.allCases.map(\.rawValue) == ["note", "move"])
        #expect(DueResult.State.allCases.map(\.rawValue) == ["due", "given_up"])
        #expect(DueResult.State.givenUp.databaseValue == "given_up".databaseValue)
        #expect(InvitationRecord.State.fromDatabaseValue("refused".databaseValue) == .refused)
        #expect(InvitationRecord.State.fromDatabaseValue("nonsense".databaseValue) == nil)
    }

    @Test func compositeKeysAreTypedNotJoined() {
        #expect(RequestCountKey(.lever, "2xx") < RequestCountKey(.lever, "4xx"))
        #expect(RequestCountKey(.hubert, "5xx") < RequestCountKey(.lever, "2xx"), "sorted by service, then class")
        let pair = PostingTemplate(postingId: "p|q", templateId: Self.templateA)
        #expect(pair != PostingTemplate(postingId: "p", templateId: "q|" + Self.templateA), "no string joins two pairs")
    }

    @Test func anInvitationRoundTripsThroughTheFileWithTheStoredStrings() async throws {
        let (store, path) = try Self.fileStore()
        let intent = InvitationRecord(
            opportunityId: "opp-1", templateId: Self.templateA, postingId: "post-1", state: .sent,
            interviewId: "ignored", stageAtInvitation: "applicant-new", appliedAt: 1_000)
        #expect(try await store.recordInvitationIntent(intent, idempotencyKey: "key-1", now: 5_000))
        #expect(
            try await !store.recordInvitationIntent(intent, idempotencyKey: "key-2", now: 6_000),
            "one invitation per (opportunity, template), ever")
        #expect(try await Self.strings(store, "SELECT state FROM invitation") == ["pending"])
        #expect(try await Self.strings(store, "SELECT idempotency_key FROM invitation") == ["key-1"])
        let pending = try #require(try await store.pendingInvitations().first)
        #expect(pending.state == .pending)
        #expect(pending.interviewId == nil, "an intent has no interview yet, whatever the record said")
        #expect(pending.createdAt == 5_000)
        #expect(pending.appliedAt == 1_000)

        try await store.recordInvitationSent(
            opportunityId: "opp-1", templateId: Self.templateA, interviewId: "iv-1", status: "invited", now: 7_000)
        try await store.recordInvitationSent(
            opportunityId: "opp-1", templateId: Self.templateA, interviewId: "iv-1", status: "started",
            stageAtInvitation: .some(nil), now: 8_000)
        try store.close()

        let reopened = try Store(path: path)
        #expect(
            try await Self.strings(
                reopened, "SELECT state || ',' || interview_status || ',' || sent_ms FROM invitation")
                == ["sent,started,7000"], "the first confirmation's time is kept")
        let sent = try #require(try await reopened.invitation(opportunityId: "opp-1", templateId: Self.templateA))
        #expect(
            sent
                == InvitationRecord(
                    opportunityId: "opp-1", templateId: Self.templateA, postingId: "post-1", state: .sent,
                    interviewId: "iv-1", stageAtInvitation: nil, createdAt: 5_000, appliedAt: 1_000,
                    idempotencyKey: "key-1", interviewStatus: "started", sentAt: 7_000, updatedAt: 8_000))
        #expect(try await reopened.pendingInvitations().isEmpty)

        try await reopened.recordInvitationIntent(
            InvitationRecord(
                opportunityId: "opp-2", templateId: Self.templateA, postingId: "post-1", state: .pending),
            idempotencyKey: "key-3", now: 9_000)
        try await reopened.closeInvitationIntent(
            opportunityId: "opp-1", templateId: Self.templateA, reason: "not pending", now: 9_500)
        try await reopened.closeInvitationIntent(
            opportunityId: "opp-2", templateId: Self.templateA, reason: "opportunity_archived", now: 9_500)
        #expect(
            try await Self.strings(reopened, "SELECT state || ',' || coalesce(refusal, '-') FROM invitation ORDER BY 1")
                == ["refused,opportunity_archived", "sent,-"], "only a pending intent is closed")
        try reopened.close()
    }

    @Test func resultStepsAndDueRowsStoreTheirStates() async throws {
        let (store, _) = try Self.fileStore()
        let step = ResultStepRecord(
            interviewId: "iv-1", fingerprint: "lead|80|70", step: .note, opportunityId: "opp-1", done: true,
            marker: "[m]")
        try await store.recordStepIntent(step, now: 1_000)
        #expect(try await Self.strings(store, "SELECT state FROM result_step") == ["pending"], "an intent is pending")
        #expect(try await store.resultSteps(interviewId: "iv-1", fingerprint: "lead|80|70")[.note]?.done == false)
        #expect(try await store.unfinishedResults().map(\.firstDue) == [1_000])
        try await store.recordStepDone(
            interviewId: "iv-1", fingerprint: "lead|80|70", step: .note, opportunityId: "opp-1", marker: "[m]",
            noteId: "note-9",
            now: 2_000)
        try await store.recordStepDone(
            interviewId: "iv-1", fingerprint: "lead|80|70", step: .move, opportunityId: "opp-1", now: 2_000)
        #expect(
            try await Self.strings(
                store, "SELECT step || ',' || state || ',' || coalesce(note_id, '-') FROM result_step ORDER BY 1")
                == ["move,done,-", "note,done,note-9"])
        let steps = try await store.resultSteps(interviewId: "iv-1", fingerprint: "lead|80|70")
        #expect(
            steps[.note]
                == ResultStepRecord(
                    interviewId: "iv-1", fingerprint: "lead|80|70", step: .note, opportunityId: "opp-1", done: true,
                    marker: "[m]", noteId: "note-9", updatedAt: 2_000))
        #expect(try await store.hasMoved(interviewId: "iv-1"))
        #expect(try await !store.hasMoved(interviewId: "iv-2"))

        let due = try await store.markResultDue(
            interviewId: "iv-2", opportunityId: "opp-2", fingerprint: "f1", now: 3_000)
        #expect(
            due
                == DueResult(
                    interviewId: "iv-2", opportunityId: "opp-2", fingerprint: "f1", state: .due, firstDue: 3_000,
                    attempts: 0))
        try await store.recordResultAttemptFailed(interviewId: "iv-2", error: "boom", now: 4_000)
        #expect(try await store.dueResult(interviewId: "iv-2")?.attempts == 1)
        #expect(try await store.dueResult(interviewId: "iv-2")?.lastError == "boom")
        try await store.giveUpResult(due, now: 5_000)
        #expect(try await Self.strings(store, "SELECT state FROM result_due") == ["given_up"])
        #expect(try await store.unfinishedResults().isEmpty, "a given-up result is not tried again")
        #expect(
            try await store.markResultDue(interviewId: "iv-2", opportunityId: "opp-2", fingerprint: "f2", now: 6_000)
                .state == .due, "a regrade is due again")
        try await store.giveUpResult(due, now: 7_000)

        #expect(try await store.prune(before: 1_500) == 0, "the steps were done at 2000, the row given up at 7000")
        #expect(try await store.prune(before: 7_001) == 3, "two done steps and the given-up row")
        #expect(try await Self.strings(store, "SELECT interview_id FROM result_due").isEmpty)
    }

    @Test func cachesMetaAndPostingTagsAreRecords() async throws {
        let (store, _) = try Self.fileStore()
        try await store.cacheTemplate(Self.templateA, status: "active", threshold: 0.5, now: 1_000)
        try await store.cacheTemplate(Self.templateA, status: "inactive", threshold: nil, now: 2_000)
        #expect(try await store.cachedTemplate(Self.templateA, freshAfter: 2_001) == nil)
        let cached = try #require(try await store.cachedTemplate(Self.templateA, freshAfter: 2_000))
        #expect(cached.status == "inactive" && cached.threshold == nil)
        try await store.cacheLookup("stages", value: "[]", now: 1_000)
        #expect(try await store.cachedLookup("stages", freshAfter: 1_000) == "[]")
        #expect(try await store.cachedLookup("stages", freshAfter: 1_001) == nil)

        try await store.recordPostingTags(
            [("post-1", Self.templateA, 100), ("post-2", Self.templateB, 200)], names: ["post-1": "Barista"],
            now: 300)
        try await store.recordPostingTags([("post-1", Self.templateA, 999)], now: 400)
        #expect(
            try await store.postingTags() == [
                PostingTemplate(postingId: "post-1", templateId: Self.templateA): 100,
                PostingTemplate(postingId: "post-2", templateId: Self.templateB): 200,
            ],
            "the first-seen time is kept")
        #expect(
            try await Self.strings(store, "SELECT posting_name FROM posting_tag WHERE posting_id = 'post-1'") == [
                "Barista"
            ])

        try await store.setCheckpoints(["lever": 500, "hubert": -5], now: 600)
        try await store.setCheckpoints(["lever": 700], now: 800)
        #expect(try await store.checkpoints() == ["lever": 700, "hubert": 0])
        #expect(try await store.checkpoint("lever") == 700)
        #expect(try await store.checkpoint("none") == nil)

        try await store.addToCounters(["invitations_sent": 2, "failed": 0])
        try await store.addToCounters(["invitations_sent": 3])
        #expect(try await store.counters() == ["invitations_sent": 5])
        #expect(try await !store.isDemoDatabase())
        try await store.markDemoDatabase()
        #expect(try await store.isDemoDatabase())
        #expect(
            try await Self.strings(store, "SELECT key || '=' || value FROM meta ORDER BY key") == [
                "counter.invitations_sent=5", "made_by=demo",
            ])
    }

    @Test func runsAndPurge() async throws {
        let store = try Store()
        #expect(try await store.lastSuccess() == nil)
        #expect(try await store.lastCleanRunStart(notAfter: .max) == nil)
        try await store.recordRunStart(id: "r1", kind: "run", now: 1_000)
        try await store.recordRunEnd(
            id: "r1", kind: "backfill", exitCode: 0, countsJSON: "{}", leverRequests: 3, hubertRequests: 4,
            message: nil, now: 2_000)
        try await store.recordRunEnd(
            id: "r2", kind: "backfill", startedAt: 3_000, exitCode: 0, countsJSON: "{}", leverRequests: 0,
            hubertRequests: 0, message: "cancelled", now: 4_000)
        #expect(
            try await Self.strings(store, "SELECT id || ',' || kind FROM run ORDER BY id") == ["r1,run", "r2,backfill"])
        #expect(try await store.lastSuccess() == 4_000)
        #expect(try await store.lastCleanRunStart(notAfter: .max) == 1_000, "only live runs count")
        #expect(try await store.lastCleanRunStart(notAfter: 999) == nil)

        try await store.recordInvitationIntent(
            InvitationRecord(opportunityId: "opp-1", templateId: Self.templateA, postingId: "p", state: .pending),
            idempotencyKey: "k", now: 1)
        try await store.recordApplicant(
            opportunityId: "opp-1", postingId: "p", templateId: Self.templateA, appliedAt: nil, now: 1)
        try await store.recordProblems(
            [Problem(opportunityId: "opp-1", reason: "missing_email", message: "m")], runId: "r1", now: 1)
        try await store.markResultDue(interviewId: "iv", opportunityId: "opp-1", fingerprint: "f", now: 1)
        #expect(try await store.purge(opportunityIds: ["opp-1", "opp-2"]) == 4)
        #expect(try await Self.strings(store, "SELECT opportunity_id FROM applicant").isEmpty)
    }

    /// A ledger with one invitation of every kind, two unfinished results, one given up, two problems and two runs.
    @Test func theStatusReportCountsAKnownLedger() async throws {
        let store = try Store()
        let day: Millis = 86_400_000
        let now = 30 * day
        func invite(_ id: String, sentAt: Millis?, status: String?) async throws {
            try await store.recordInvitationIntent(
                InvitationRecord(opportunityId: id, templateId: Self.templateA, postingId: "post-1", state: .pending),
                idempotencyKey: "key-" + id, now: sentAt ?? now)
            if let sentAt, let status {
                try await store.recordInvitationSent(
                    opportunityId: id, templateId: Self.templateA, interviewId: "iv-" + id, status: status, now: sentAt)
            }
        }
        try await invite("pending", sentAt: nil, status: nil)
        try await invite("fresh", sentAt: now - day, status: "invited")
        try await invite("stale", sentAt: now - 10 * day, status: "invited")
        try await invite("started", sentAt: now - 10 * day, status: "started")
        try await invite("completed", sentAt: now - 10 * day, status: "completed")
        try await invite("expired", sentAt: now - day, status: "expired")
        try await invite("cancelled", sentAt: now - day, status: "cancelled")
        try await invite("refused", sentAt: nil, status: nil)
        try await store.recordInvitationRefused(
            opportunityId: "refused", templateId: Self.templateA, reason: "hubert_422", now: now)
        try await store.recordStepIntent(
            ResultStepRecord(
                interviewId: "iv-a", fingerprint: "f", step: .note, opportunityId: "a", done: false, marker: nil),
            now: now)
        try await store.markResultDue(interviewId: "iv-a", opportunityId: "a", fingerprint: "f", now: now)
        try await store.markResultDue(interviewId: "iv-b", opportunityId: "b", fingerprint: "f", now: now)
        let givenUp = try await store.markResultDue(interviewId: "iv-c", opportunityId: "c", fingerprint: "f", now: now)
        try await store.giveUpResult(givenUp, now: now)
        try await store.recordProblems(
            [
                Problem(opportunityId: "opp-9", reason: "missing_email", message: "no e-mail"),
                Problem(postingId: "post-7", reason: "invalid_hubert_tag", message: "bad tag"),
            ], runId: "r1", now: now - 1_000)
        var counts = PassCounts()
        counts.invitationsSent = 2
        let countsJSON = String(decoding: try JSONEncoder().encode(counts), as: UTF8.self)
        try await store.recordRunStart(id: "r1", kind: "run", now: now - 5_000)
        try await store.recordRunEnd(
            id: "r1", exitCode: 0, countsJSON: countsJSON, leverRequests: 7, hubertRequests: 3,
            message: nil, now: now - 4_000)
        try await store.recordRunStart(id: "r2", kind: "backfill", now: now - 2_000)
        try await store.setCheckpoints(["lever": now - 60_000], now: now)

        let report = try await store.statusReport(now: now, staleAfterDays: 7)
        let i = report.invitations
        let byState: [Int] = [i.pending, i.sent, i.started, i.completed, i.expired, i.cancelled, i.refused, i.stale]
        #expect(byState == [1, 2, 1, 1, 1, 1, 1, 2], "stale: sent, invited or started, for more than 7 days")
        #expect(report.resultsPending == 2, "iv-a (a step and a due row) once, iv-b")
        #expect(report.resultsGivenUp == 1)
        #expect(report.checkpoints.map(\.stream) == ["lever"])
        #expect(report.checkpoints.first?.lagSeconds == 60)
        #expect(Set(report.problems.map(\.reason)) == ["missing_email", "invalid_hubert_tag"])
        let posting = try #require(report.problems.first { $0.postingId == "post-7" })
        #expect(posting.opportunityId == nil && posting.leverURL == "https://hire.lever.co/jobs/post-7")
        #expect(report.runs.map(\.runId) == ["r2", "r1"], "newest first")
        #expect(report.runs.first?.exitCode == nil && report.runs.first?.kind == "backfill")
        #expect(report.runs.last?.requests == RequestCounts(lever: 7, hubert: 3))
        #expect(report.runs.last?.counts?.invitationsSent == 2)
        #expect(try await store.statusReport(now: now, runs: 1).runs.map(\.runId) == ["r2"])

        let loaded = try await StatusReport.load(store: store, now: now, staleAfterDays: 7)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(loaded) == encoder.encode(report), "StatusReport.load is the store's report")
    }

    @Test func aBusyDatabaseIsToldByItsResultCode() async throws {
        let (store, path) = try Self.fileStore()
        try store.close()
        // Another connection holds the write lock; one that does not wait is refused with SQLITE_BUSY.
        var unsafe = Configuration()
        unsafe.allowsUnsafeTransactions = true
        let holder = try DatabaseQueue(path: path, configuration: unsafe)
        let impatient = try DatabaseQueue(path: path)
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        var caught: (any Error)?
        do {
            try await impatient.write { db in
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('x', 'y')")
            }
        } catch {
            caught = error
        }
        let error = try #require(caught)
        #expect((error as? DatabaseError)?.resultCode == .SQLITE_BUSY)
        #expect(Store.isBusy(error))
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }

        // The message plays no part: only the code does.
        #expect(Store.isBusy(DatabaseError(resultCode: .SQLITE_BUSY, message: "something else entirely")))
        #expect(Store.isBusy(DatabaseError(resultCode: .SQLITE_LOCKED)))
        #expect(Store.isBusy(DatabaseError(resultCode: .SQLITE_BUSY_SNAPSHOT)))
        #expect(!Store.isBusy(DatabaseError(resultCode: .SQLITE_IOERR, message: "database is locked")))
        #expect(!Store.isBusy(DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "busy")))
        #expect(!Store.isBusy(CocoaError(.fileLocking)))
    }

    /// Passes run while the clock was days ahead prune idle runs "older than a day"; the last clean live run of each
    /// real day stays, so that once the clock is set right a pass still finds where the database was in step.
    @Test func pruningIdleRunsKeepsEachDaysLastCleanLiveRun() async throws {
        let store = try Store()
        let day: Millis = 86_400_000
        let runs: [(String, Millis, String, Int32)] = [
            ("d0-early", 1_000, "run", 0), ("d0-late", 5_000, "run", 0), ("d0-failed", 6_000, "run", 75),
            ("d1-early", day + 1_000, "run", 0), ("d1-late", day + 5_000, "run", 0),
            ("d1-backfill", day + 6_000, "backfill", 0), ("ahead", 9 * day, "run", 0),
        ]
        for (id, started, kind, exit) in runs {
            try await store.recordRunEnd(
                id: id, kind: kind, startedAt: started, exitCode: exit, countsJSON: "{}", leverRequests: 2,
                hubertRequests: 1, message: nil, idle: true, now: started + 10)
        }
        _ = try await store.prune(before: 0, idleRunsBefore: 9 * day)
        let kept = try await store.read { try String.fetchAll($0, sql: "SELECT id FROM run ORDER BY started_ms") }
        #expect(kept == ["d0-late", "d0-failed", "d1-late", "ahead"], "a failed run is never idle: \(kept)")
        #expect(try await store.lastCleanRunStart(notAfter: 2 * day) == day + 5_000)
    }
}
