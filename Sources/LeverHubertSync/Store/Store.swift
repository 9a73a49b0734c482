import Foundation
import GRDB

/// The SQLite store: one type owns the connection, runs migrations at open and exposes one method per intention,
/// each one transaction. WAL, a busy timeout, and a file only its owner can read (0600).
public final class Store: Sendable {
    let writer: any DatabaseWriter
    /// Where the database lives; nil for an in-memory store.
    public let path: String?

    /// Opens (creating if needed, mode 0600) the database at `path` and migrates it.
    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            if fd >= 0 { Foundation.close(fd) }
        }
        chmod(path, 0o600)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        let pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            chmod(path + suffix, 0o600)
        }
        self.writer = pool
        self.path = path
    }

    /// Opens an existing database for reading only, creating and changing no file (dry runs). When the database
    /// needs a migration, its content is copied into memory and migrated there; the file is never migrated.
    ///
    /// SQLite creates `-wal` and `-shm` files even for a read-only connection to a WAL database, so the file is
    /// opened `immutable` (no locking, no shared memory, nothing written) when it is fully checkpointed — which it
    /// is whenever no run is writing: the caller holds the run lock, or no lock file exists. After a crash a WAL
    /// with content may be left; then the files are already there and are read as they are (`mode=ro`).
    public init(readOnlyPath path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int ?? 0
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let encoded =
            absolute.addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%")))
            ?? absolute
        let uri = "file:\(encoded)?" + (wal > 0 ? "mode=ro" : "immutable=1")
        let file = try DatabaseQueue(path: uri, configuration: configuration)
        if try file.read({ try Schema.migrator.hasCompletedMigrations($0) }) {
            self.writer = file
        } else {
            let memory = try DatabaseQueue()
            try file.backup(to: memory)
            try Schema.migrator.migrate(memory)
            self.writer = memory
        }
        self.path = path
    }

    /// An empty in-memory store (dry runs on a database that does not exist yet, tests).
    public init() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        self.writer = queue
        self.path = nil
    }

    /// Closes the connection now (the WAL is checkpointed and removed by the last connection), rather than whenever
    /// the store happens to be released: a process that exits leaves the database in one file.
    public func close() throws {
        // The pool's read-only readers may be closed last, and a read-only connection leaves the WAL in place: fold
        // it back first, so that what remains beside the database is empty.
        if writer is DatabasePool { _ = try writer.writeWithoutTransaction { try $0.checkpoint(.truncate) } }
        try writer.close()
    }

    // MARK: Checkpoints

    /// The checkpoint of a stream, in ms; nil before the first pass.
    public func checkpoint(_ stream: String) async throws -> Millis? {
        try await writer.read { db in try CheckpointRecord.fetchOne(db, key: stream)?.at }
    }

    /// Sets the live checkpoints to the start of the pass that just processed their whole window. This may move one
    /// back: a checkpoint that lay in the future (the clock had run ahead) is brought back to the present, so the
    /// next window starts where this one ended.
    public func setCheckpoints(_ values: [String: Millis], now: Millis) async throws {
        try await writer.write { db in
            for (stream, at) in values {
                // INSERT … ON CONFLICT (stream) DO UPDATE SET at_ms = excluded.at_ms, updated_ms = excluded.updated_ms
                try CheckpointRecord(stream: stream, at: max(0, at), updatedAt: now).upsert(db)
            }
        }
    }

    /// When the latest live run that finished cleanly started, among those that started at or before `notAfter`:
    /// after a clock step, the last moment this database was in step with the present.
    public func lastCleanRunStart(notAfter: Millis) async throws -> Millis? {
        try await writer.read { db in
            try RunRecord
                .filter(RunRecord.Columns.kind == "run" && RunRecord.Columns.exitCode == 0)
                .filter(RunRecord.Columns.startedAt <= notAfter)
                .select(max(RunRecord.Columns.startedAt), as: Millis.self)
                .fetchOne(db)
        }
    }

    // MARK: Postings

    /// Records tagged postings (with their titles); a pair seen before keeps its first-seen time.
    public func recordPostingTags(
        _ tags: [(postingId: String, templateId: String, firstSeen: Millis)],
        names: [String: String] = [:], now: Millis
    ) async throws {
        try await writer.write { db in
            for tag in tags {
                let record = PostingTagRecord(
                    postingId: tag.postingId, templateId: tag.templateId, firstSeen: tag.firstSeen, lastSeen: now,
                    postingName: names[tag.postingId])
                try db.execute(
                    sql: """
                        INSERT INTO posting_tag (posting_id, template_id, first_seen_ms, last_seen_ms, posting_name)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (posting_id, template_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms,
                            posting_name = coalesce(excluded.posting_name, posting_name)
                        """,
                    arguments: [
                        record.postingId, record.templateId, record.firstSeen, record.lastSeen, record.postingName,
                    ])
            }
        }
    }

    // MARK: Templates

    /// What Hubert last said of a template, if asked after `freshAfter`.
    public func cachedTemplate(_ id: String, freshAfter: Millis) async throws -> (status: String, threshold: Double?)? {
        try await writer.read { db in
            try TemplateCacheRecord
                .filter(TemplateCacheRecord.Columns.templateId == id)
                .filter(TemplateCacheRecord.Columns.checkedAt >= freshAfter)
                .fetchOne(db)
                .map { ($0.status, $0.threshold) }
        }
    }

    /// Remembers what Hubert said of a template.
    public func cacheTemplate(_ id: String, status: String, threshold: Double?, now: Millis) async throws {
        try await writer.write { db in
            try TemplateCacheRecord(templateId: id, status: status, threshold: threshold, checkedAt: now)
                .insert(db, onConflict: .replace)
        }
    }

    // MARK: Lookups

    /// A cached lookup fetched after `freshAfter`, if any.
    public func cachedLookup(_ key: String, freshAfter: Millis) async throws -> String? {
        try await writer.read { db in
            try LookupCacheRecord
                .filter(LookupCacheRecord.Columns.key == key)
                .filter(LookupCacheRecord.Columns.fetchedAt >= freshAfter)
                .fetchOne(db)?.value
        }
    }

    /// Caches a lookup.
    public func cacheLookup(_ key: String, value: String, now: Millis) async throws {
        try await writer.write { db in
            try LookupCacheRecord(key: key, value: value, fetchedAt: now).insert(db, onConflict: .replace)
        }
    }

    // MARK: Invitations

    /// The invitation of (opportunity, template), if any.
    public func invitation(opportunityId: String, templateId: String) async throws -> InvitationRecord? {
        try await writer.read { db in
            try InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId).fetchOne(db)
        }
    }

    /// Invitations whose outcome is not known yet (the process died or the answer was lost).
    public func pendingInvitations() async throws -> [InvitationRecord] {
        try await writer.read { db in
            try InvitationRecord
                .filter(InvitationRecord.Columns.state == InvitationRecord.State.pending)
                .order(InvitationRecord.Columns.createdAt)
                .fetchAll(db)
        }
    }

    /// Records the intent to invite, before the request is sent. Returns false when a record already exists.
    /// Of `record`, the ids, the stage and the application time are kept; the row starts `pending`, created now.
    @discardableResult
    public func recordInvitationIntent(_ record: InvitationRecord, idempotencyKey: String, now: Millis) async throws
        -> Bool
    {
        let intent = InvitationRecord(
            opportunityId: record.opportunityId, templateId: record.templateId, postingId: record.postingId,
            state: .pending, interviewId: nil, stageAtInvitation: record.stageAtInvitation, createdAt: now,
            appliedAt: record.appliedAt, idempotencyKey: idempotencyKey, updatedAt: now)
        return try await writer.write { db in
            try intent.insert(db, onConflict: .ignore)
            return db.changesCount > 0
        }
    }

    /// Records that Hubert has the invitation.
    /// `stageAtInvitation`: when given, replaces the stage recorded with the intent — for an interview Hubert already
    /// had (a restored or pruned ledger), the stage the candidate stood in when Hubert invited them, or nil when it
    /// cannot be known (then no auto-move is ever made for it).
    public func recordInvitationSent(
        opportunityId: String, templateId: String, interviewId: String, status: String,
        stageAtInvitation: String?? = .none, now: Millis
    ) async throws {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            let invitation = InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId)
            try invitation.updateAll(
                db, Columns.state.set(to: InvitationRecord.State.sent), Columns.interviewId.set(to: interviewId),
                Columns.interviewStatus.set(to: status), Columns.sentAt.set(to: Columns.sentAt ?? now),
                Columns.updatedAt.set(to: now))
            if case .some(let stage) = stageAtInvitation {
                try invitation.updateAll(db, Columns.stageAtInvitation.set(to: stage))
            }
        }
    }

    /// Records that Hubert refused the invitation for good (422, 404 …); it is not sent again.
    public func recordInvitationRefused(opportunityId: String, templateId: String, reason: String, now: Millis)
        async throws
    {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            _ = try InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId).updateAll(
                db, Columns.state.set(to: InvitationRecord.State.refused), Columns.refusal.set(to: reason),
                Columns.updatedAt.set(to: now))
        }
    }

    /// Closes an intent that was never sent and never can be (template forbidden or inactive, posting no longer
    /// tagged, opportunity archived, no e-mail …): it is kept as refused with the reason, and not tried again.
    public func closeInvitationIntent(opportunityId: String, templateId: String, reason: String, now: Millis)
        async throws
    {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            _ = try InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId)
                .filter(Columns.state == InvitationRecord.State.pending)
                .updateAll(
                    db, Columns.state.set(to: InvitationRecord.State.refused), Columns.refusal.set(to: reason),
                    Columns.updatedAt.set(to: now))
        }
    }

    /// Records a failed try to send or settle a pending invitation (no answer, an unreadable one, a read-back that
    /// failed): one of the tries a give-up needs beside `sync.giveUpAfterDays`. Returns the row.
    @discardableResult
    public func recordInvitationAttemptFailed(opportunityId: String, templateId: String, now: Millis) async throws
        -> InvitationRecord?
    {
        typealias Columns = InvitationRecord.Columns
        return try await writer.write { db in
            let row = InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId)
            _ = try row.filter(Columns.state == InvitationRecord.State.pending).updateAll(
                db, Columns.attempts.set(to: Columns.attempts + 1), Columns.lastAttemptAt.set(to: now))
            return try row.fetchOne(db)
        }
    }

    /// Notes the interview's latest status (for `status`).
    public func recordInterviewStatus(interviewId: String, status: String, now: Millis) async throws {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            _ = try InvitationRecord.filter(Columns.interviewId == interviewId).updateAll(
                db, Columns.interviewStatus.set(to: status), Columns.updatedAt.set(to: now))
        }
    }

    // MARK: Results

    /// The fingerprint of the result version last written back in full.
    public func appliedFingerprint(interviewId: String) async throws -> String? {
        try await writer.read { db in try AppliedResultRecord.fetchOne(db, key: interviewId)?.fingerprint }
    }

    /// The recorded steps of one result version.
    public func resultSteps(interviewId: String, fingerprint: String) async throws -> [ResultStepRecord.Step:
        ResultStepRecord]
    {
        try await writer.read { db in
            let steps =
                try ResultStepRecord
                .filter(ResultStepRecord.Columns.interviewId == interviewId)
                .filter(ResultStepRecord.Columns.fingerprint == fingerprint)
                .fetchAll(db)
            return Dictionary(steps.map { ($0.step, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Whether any version of this interview's result was already moved by the sync.
    public func hasMoved(interviewId: String) async throws -> Bool {
        typealias Columns = ResultStepRecord.Columns
        return try await writer.read { db in
            try
                !ResultStepRecord
                .filter(Columns.interviewId == interviewId)
                .filter(Columns.step == ResultStepRecord.Step.move && Columns.state == ResultStepRecord.State.done)
                .isEmpty(db)
        }
    }

    /// Records the intent of a step before it is applied (a step already recorded is left as it is). Of `step`, the
    /// ids and the marker are kept; the row starts `pending`, changed now.
    public func recordStepIntent(_ step: ResultStepRecord, now: Millis) async throws {
        let intent = ResultStepRecord(
            interviewId: step.interviewId, fingerprint: step.fingerprint, step: step.step,
            opportunityId: step.opportunityId, done: false, marker: step.marker, updatedAt: now)
        try await writer.write { db in try intent.insert(db, onConflict: .ignore) }
    }

    /// Records that a step is applied.
    public func recordStepDone(
        interviewId: String, fingerprint: String, step: ResultStepRecord.Step, opportunityId: String,
        marker: String? = nil, noteId: String? = nil, now: Millis
    ) async throws {
        let done = ResultStepRecord(
            interviewId: interviewId, fingerprint: fingerprint, step: step, opportunityId: opportunityId, done: true,
            marker: marker, noteId: noteId, updatedAt: now)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO result_step (interview_id, fingerprint, step, opportunity_id, state, marker, note_id, updated_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (interview_id, fingerprint, step) DO UPDATE SET state = excluded.state,
                        note_id = coalesce(excluded.note_id, note_id), updated_ms = excluded.updated_ms
                    """,
                arguments: [
                    done.interviewId, done.fingerprint, done.step, done.opportunityId, done.state, done.marker,
                    done.noteId, done.updatedAt,
                ])
        }
    }

    /// Records that a result version is fully written back.
    public func recordResultApplied(
        interviewId: String, opportunityId: String, fingerprint: String, grade: HubertGrade, now: Millis
    ) async throws {
        try await writer.write { db in
            // A row of the interview keeps its opportunity; the version, grade and time are replaced.
            try db.execute(
                sql: """
                    INSERT INTO applied_result (interview_id, opportunity_id, fingerprint, grade, applied_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (interview_id) DO UPDATE SET fingerprint = excluded.fingerprint, grade = excluded.grade, applied_ms = excluded.applied_ms
                    """, arguments: [interviewId, opportunityId, fingerprint, grade, now])
            try InvitationRecord.filter(InvitationRecord.Columns.interviewId == interviewId).updateAll(
                db, InvitationRecord.Columns.interviewStatus.set(to: "completed"),
                InvitationRecord.Columns.updatedAt.set(to: now))
            // Every step of every version is settled now: nothing of this interview is due any more.
            try ResultStepRecord
                .filter(ResultStepRecord.Columns.interviewId == interviewId)
                .filter(ResultStepRecord.Columns.state == ResultStepRecord.State.pending)
                .updateAll(
                    db, ResultStepRecord.Columns.state.set(to: ResultStepRecord.State.done),
                    ResultStepRecord.Columns.updatedAt.set(to: now))
            try DueResult.deleteOne(db, key: interviewId)
        }
    }

    // MARK: Retention

    /// The tables that hold rows of an opportunity (`opportunity_id`), all purged with it.
    static let opportunityTables = [
        InvitationRecord.databaseTableName, ResultStepRecord.databaseTableName, AppliedResultRecord.databaseTableName,
        DueResult.databaseTableName, ProblemRecord.databaseTableName, ApplicantRecord.databaseTableName,
        HoldRecord.databaseTableName,
    ]

    /// Forgets everything held about these opportunities (deleted or anonymized in Lever). Returns rows removed.
    @discardableResult
    public func purge(opportunityIds: [String]) async throws -> Int {
        guard !opportunityIds.isEmpty else { return 0 }
        return try await writer.write { db in
            var removed = 0
            for id in opportunityIds {
                for table in Self.opportunityTables {
                    removed += try Table(table).filter(Column("opportunity_id") == id).deleteAll(db)
                }
            }
            return removed
        }
    }

    /// Prunes finished items and runs older than `before` (ms). Never pruned: unconfirmed intents and due results;
    /// `invitation` rows (ids and states only, one per (opportunity, template) ever invited or refused), which keep
    /// "one invitation ever" true long after Hubert has forgotten the Idempotency-Key; and `applied_result` (one row
    /// of ids per interview), which stops an old result that Hubert lists again from being written a second time.
    /// What Lever deletes is purged with its opportunity, not here.
    ///
    /// Bounded too: runs that did nothing (`idle`) older than `idleRunsBefore`; `applicant` rows (the funnel's
    /// "applied") older than `before`; and the write-back steps of a given-up result pruned with it, so that no step
    /// comes back later as an orphan to be written a year late.
    @discardableResult
    public func prune(before: Millis, idleRunsBefore: Millis? = nil) async throws -> Int {
        try await writer.write { db in
            var removed = try RunRecord.filter(RunRecord.Columns.startedAt < before).deleteAll(db)
            if let idleRunsBefore {
                // The last clean run stays whatever it did: `status` and the metrics name the last success.
                try db.execute(
                    sql: """
                        DELETE FROM run WHERE idle = 1 AND started_ms < ? AND id IS NOT (
                            SELECT id FROM run WHERE exit_code = 0 ORDER BY finished_ms DESC LIMIT 1)
                        """, arguments: [idleRunsBefore])
                removed += db.changesCount
            }
            removed += try ProblemRecord.filter(ProblemRecord.Columns.lastSeen < before).deleteAll(db)
            removed += try ApplicantRecord.filter(Column("seen_ms") < before).deleteAll(db)
            try db.execute(
                sql: """
                    DELETE FROM result_step WHERE interview_id IN (
                        SELECT interview_id FROM result_due WHERE state = ? AND last_attempt_ms < ?)
                    """, arguments: [DueResult.State.givenUp, before])
            removed += db.changesCount
            removed +=
                try ResultStepRecord
                .filter(ResultStepRecord.Columns.state == ResultStepRecord.State.done)
                .filter(ResultStepRecord.Columns.updatedAt < before)
                .deleteAll(db)
            removed +=
                try DueResult
                .filter(DueResult.Columns.state == DueResult.State.givenUp)
                .filter(DueResult.Columns.lastAttempt < before)
                .deleteAll(db)
            return removed
        }
    }

    /// When the last run that finished with exit 0 started.
    public func lastSuccess() async throws -> Millis? {
        try await writer.read { db in
            try RunRecord.filter(RunRecord.Columns.exitCode == 0)
                .select(max(RunRecord.Columns.finishedAt), as: Millis.self)
                .fetchOne(db)
        }
    }

    // MARK: Runs and problems

    /// Records the start of a run.
    public func recordRunStart(id: String, kind: String, now: Millis) async throws {
        try await writer.write { db in try RunRecord(id: id, kind: kind, startedAt: now).insert(db) }
    }

    /// Records the end of a run with its counts and exit status.
    /// Also inserts the row when the start was never recorded (a pass cancelled by a signal before it could be).
    public func recordRunEnd(
        id: String, kind: String = "run", startedAt: Millis? = nil, exitCode: Int32, countsJSON: String,
        leverRequests: Int, hubertRequests: Int, message: String?, idle: Bool = false, now: Millis
    ) async throws {
        let run = RunRecord(
            id: id, kind: kind, startedAt: startedAt ?? now, finishedAt: now, exitCode: Int(exitCode),
            countsJSON: countsJSON, leverRequests: leverRequests, hubertRequests: hubertRequests, message: message)
        try await writer.write { db in
            // A recorded start keeps its kind and start time.
            try db.execute(
                sql: """
                    INSERT INTO run (id, kind, started_ms, finished_ms, exit_code, counts_json, lever_requests, hubert_requests, message,
                        idle)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET finished_ms = excluded.finished_ms, exit_code = excluded.exit_code,
                        counts_json = excluded.counts_json, lever_requests = excluded.lever_requests,
                        hubert_requests = excluded.hubert_requests, message = excluded.message, idle = excluded.idle
                    """,
                arguments: [
                    run.id, run.kind, run.startedAt, run.finishedAt, run.exitCode, run.countsJSON, run.leverRequests,
                    run.hubertRequests, run.message, idle && exitCode == 0,
                ])
        }
    }

    /// Stores problems (one row per opportunity, posting and reason; refreshed when seen again).
    public func recordProblems(_ problems: [Problem], runId: String, now: Millis) async throws {
        guard !problems.isEmpty else { return }
        try await writer.write { db in
            for problem in problems {
                let record = ProblemRecord(
                    opportunityId: problem.opportunityId ?? "", postingId: problem.postingId ?? "",
                    reason: problem.reason, message: problem.message, firstSeen: now, lastSeen: now, runId: runId)
                // A problem seen before keeps its first-seen time.
                try db.execute(
                    sql: """
                        INSERT INTO problem (opportunity_id, posting_id, reason, message, first_seen_ms, last_seen_ms, run_id)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (opportunity_id, posting_id, reason) DO UPDATE SET message = excluded.message,
                            last_seen_ms = excluded.last_seen_ms, run_id = excluded.run_id
                        """,
                    arguments: [
                        record.opportunityId, record.postingId, record.reason, record.message, record.firstSeen,
                        record.lastSeen, record.runId,
                    ])
            }
        }
    }

    /// When each problem was first seen by an earlier pass (nil for a problem new in this pass), in order.
    public func problemsFirstSeen(_ problems: [Problem]) async throws -> [Millis?] {
        guard !problems.isEmpty else { return [] }
        return try await writer.read { db in
            try problems.map { problem in
                try Millis.fetchOne(
                    db,
                    sql: """
                        SELECT first_seen_ms FROM problem WHERE opportunity_id = ? AND posting_id = ? AND reason = ?
                        """,
                    arguments: [problem.opportunityId ?? "", problem.postingId ?? "", problem.reason])
            }
        }
    }

    /// Removes posting-level problems that no longer hold (a posting whose tag was fixed or removed).
    public func clearPostingProblems(postingIds: [String]) async throws {
        guard !postingIds.isEmpty else { return }
        try await writer.write { db in
            for id in postingIds {
                try ProblemRecord
                    .filter(ProblemRecord.Columns.postingId == id && ProblemRecord.Columns.opportunityId == "")
                    .deleteAll(db)
            }
        }
    }

    /// Removes an opportunity's problems once it was handled (for example invited after its e-mail was added).
    public func clearOpportunityProblems(opportunityId: String) async throws {
        try await writer.write { db in
            _ = try ProblemRecord.filter(ProblemRecord.Columns.opportunityId == opportunityId).deleteAll(db)
        }
    }

    /// Runs a read-only query (for `status` and tests).
    public func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await writer.read(body)
    }
}
