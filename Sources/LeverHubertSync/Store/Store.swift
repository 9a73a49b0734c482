import Foundation
import GRDB

/// A recorded invitation.
public struct InvitationRecord: Sendable, Equatable {
    public enum State: String, Sendable { case pending, sent, refused }
    public var opportunityId: String
    public var templateId: String
    public var postingId: String
    public var state: State
    public var interviewId: String?
    public var stageAtInvitation: String?
    /// When the intent was recorded (ms).
    public var createdAt: Millis = 0
    /// When the application was created in Lever (ms), for the invitation latency.
    public var appliedAt: Millis?
}

/// A recorded write-back step of one result version.
public struct ResultStepRecord: Sendable, Equatable {
    public enum Step: String, Sendable, CaseIterable { case tag, note, link, move }
    public var interviewId: String
    public var fingerprint: String
    public var step: Step
    public var opportunityId: String
    public var done: Bool
    public var marker: String?
}

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
        try await writer.read { db in
            try Millis.fetchOne(db, sql: "SELECT at_ms FROM checkpoint WHERE stream = ?", arguments: [stream])
        }
    }

    /// Every checkpoint.
    public func checkpoints() async throws -> [String: Millis] {
        try await writer.read { db in
            var result: [String: Millis] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT stream, at_ms FROM checkpoint") {
                result[row["stream"]] = row["at_ms"]
            }
            return result
        }
    }

    /// Sets the live checkpoints to the start of the pass that just processed their whole window. This may move one
    /// back: a checkpoint that lay in the future (the clock had run ahead) is brought back to the present, so the
    /// next window starts where this one ended.
    public func setCheckpoints(_ values: [String: Millis], now: Millis) async throws {
        try await writer.write { db in
            for (stream, at) in values {
                try db.execute(
                    sql: """
                        INSERT INTO checkpoint (stream, at_ms, updated_ms) VALUES (?, ?, ?)
                        ON CONFLICT (stream) DO UPDATE SET at_ms = excluded.at_ms, updated_ms = excluded.updated_ms
                        """, arguments: [stream, max(0, at), now])
            }
        }
    }

    /// When the latest live run that finished cleanly started, among those that started at or before `notAfter`:
    /// after a clock step, the last moment this database was in step with the present.
    public func lastCleanRunStart(notAfter: Millis) async throws -> Millis? {
        try await writer.read { db in
            try Millis.fetchOne(
                db,
                sql: """
                    SELECT max(started_ms) FROM run WHERE kind = 'run' AND exit_code = 0 AND started_ms <= ?
                    """, arguments: [notAfter])
        }
    }

    // MARK: Postings

    /// When each (posting, template) pair was first seen.
    public func postingTags() async throws -> [String: Millis] {
        try await writer.read { db in
            var result: [String: Millis] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT posting_id, template_id, first_seen_ms FROM posting_tag") {
                let posting: String = row["posting_id"]
                let template: String = row["template_id"]
                result[posting + "|" + template] = row["first_seen_ms"]
            }
            return result
        }
    }

    /// Records tagged postings (with their titles); a pair seen before keeps its first-seen time.
    public func recordPostingTags(
        _ tags: [(postingId: String, templateId: String, firstSeen: Millis)],
        names: [String: String] = [:], now: Millis
    ) async throws {
        try await writer.write { db in
            for tag in tags {
                try db.execute(
                    sql: """
                        INSERT INTO posting_tag (posting_id, template_id, first_seen_ms, last_seen_ms, posting_name)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (posting_id, template_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms,
                            posting_name = coalesce(excluded.posting_name, posting_name)
                        """, arguments: [tag.postingId, tag.templateId, tag.firstSeen, now, names[tag.postingId]])
            }
        }
    }

    /// Records that an opportunity applied to (or entered New applicant on) a tagged posting, as the pass saw it.
    public func recordApplicant(
        opportunityId: String, postingId: String, templateId: String, appliedAt: Millis?,
        now: Millis
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO applicant (opportunity_id, template_id, posting_id, applied_ms, seen_ms)
                    VALUES (?, ?, ?, ?, ?)
                    """, arguments: [opportunityId, templateId, postingId, appliedAt, now])
        }
    }

    // MARK: Templates

    /// What Hubert last said of a template, if asked after `freshAfter`.
    public func cachedTemplate(_ id: String, freshAfter: Millis) async throws -> (status: String, threshold: Double?)? {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT status, threshold FROM template_cache WHERE template_id = ? AND checked_ms >= ?",
                    arguments: [id, freshAfter])
            else { return nil }
            return (row["status"], row["threshold"])
        }
    }

    /// Remembers what Hubert said of a template.
    public func cacheTemplate(_ id: String, status: String, threshold: Double?, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(
                sql:
                    "INSERT OR REPLACE INTO template_cache (template_id, status, threshold, checked_ms) VALUES (?, ?, ?, ?)",
                arguments: [id, status, threshold, now])
        }
    }

    // MARK: Lookups

    /// A cached lookup fetched after `freshAfter`, if any.
    public func cachedLookup(_ key: String, freshAfter: Millis) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT value FROM lookup_cache WHERE key = ? AND fetched_ms >= ?",
                arguments: [key, freshAfter])
        }
    }

    /// Caches a lookup.
    public func cacheLookup(_ key: String, value: String, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO lookup_cache (key, value, fetched_ms) VALUES (?, ?, ?)",
                arguments: [key, value, now])
        }
    }

    // MARK: Invitations

    private static func invitation(_ row: Row) -> InvitationRecord {
        InvitationRecord(
            opportunityId: row["opportunity_id"], templateId: row["template_id"], postingId: row["posting_id"],
            state: InvitationRecord.State(rawValue: row["state"]) ?? .pending, interviewId: row["interview_id"],
            stageAtInvitation: row["stage_at_invitation"], createdAt: row["created_ms"])
    }

    /// The invitation of (opportunity, template), if any.
    public func invitation(opportunityId: String, templateId: String) async throws -> InvitationRecord? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM invitation WHERE opportunity_id = ? AND template_id = ?",
                arguments: [opportunityId, templateId]
            ).map(Self.invitation)
        }
    }

    /// Invitations whose outcome is not known yet (the process died or the answer was lost).
    public func pendingInvitations() async throws -> [InvitationRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM invitation WHERE state = 'pending' ORDER BY created_ms").map(
                Self.invitation)
        }
    }

    /// Records the intent to invite, before the request is sent. Returns false when a record already exists.
    @discardableResult
    public func recordInvitationIntent(_ record: InvitationRecord, idempotencyKey: String, now: Millis) async throws
        -> Bool
    {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO invitation (opportunity_id, template_id, posting_id, idempotency_key, state,
                        stage_at_invitation, created_ms, updated_ms, applied_ms)
                    VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)
                    """,
                arguments: [
                    record.opportunityId, record.templateId, record.postingId, idempotencyKey,
                    record.stageAtInvitation, now, now, record.appliedAt,
                ])
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
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE invitation SET state = 'sent', interview_id = ?, interview_status = ?, sent_ms = coalesce(sent_ms, ?), updated_ms = ?
                    WHERE opportunity_id = ? AND template_id = ?
                    """, arguments: [interviewId, status, now, now, opportunityId, templateId])
            if case .some(let stage) = stageAtInvitation {
                try db.execute(
                    sql: "UPDATE invitation SET stage_at_invitation = ? WHERE opportunity_id = ? AND template_id = ?",
                    arguments: [stage, opportunityId, templateId])
            }
        }
    }

    /// Records that Hubert refused the invitation for good (422, 404 …); it is not sent again.
    public func recordInvitationRefused(opportunityId: String, templateId: String, reason: String, now: Millis)
        async throws
    {
        try await writer.write { db in
            try db.execute(
                sql:
                    "UPDATE invitation SET state = 'refused', refusal = ?, updated_ms = ? WHERE opportunity_id = ? AND template_id = ?",
                arguments: [reason, now, opportunityId, templateId])
        }
    }

    /// Closes an intent that was never sent and never can be (template forbidden or inactive, posting no longer
    /// tagged, opportunity archived, no e-mail …): it is kept as refused with the reason, and not tried again.
    public func closeInvitationIntent(opportunityId: String, templateId: String, reason: String, now: Millis)
        async throws
    {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE invitation SET state = 'refused', refusal = ?, updated_ms = ?
                    WHERE opportunity_id = ? AND template_id = ? AND state = 'pending'
                    """, arguments: [reason, now, opportunityId, templateId])
        }
    }

    /// Notes the interview's latest status (for `status`).
    public func recordInterviewStatus(interviewId: String, status: String, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE invitation SET interview_status = ?, updated_ms = ? WHERE interview_id = ?",
                arguments: [status, now, interviewId])
        }
    }

    // MARK: Results

    /// The fingerprint of the result version last written back in full.
    public func appliedFingerprint(interviewId: String) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT fingerprint FROM applied_result WHERE interview_id = ?", arguments: [interviewId])
        }
    }

    /// The recorded steps of one result version.
    public func resultSteps(interviewId: String, fingerprint: String) async throws -> [ResultStepRecord.Step:
        ResultStepRecord]
    {
        try await writer.read { db in
            var result: [ResultStepRecord.Step: ResultStepRecord] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT * FROM result_step WHERE interview_id = ? AND fingerprint = ?",
                arguments: [interviewId, fingerprint])
            {
                guard let step = ResultStepRecord.Step(rawValue: row["step"]) else { continue }
                result[step] = ResultStepRecord(
                    interviewId: row["interview_id"], fingerprint: row["fingerprint"], step: step,
                    opportunityId: row["opportunity_id"], done: (row["state"] as String) == "done",
                    marker: row["marker"])
            }
            return result
        }
    }

    /// Whether any version of this interview's result was already moved by the sync.
    public func hasMoved(interviewId: String) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(
                db,
                sql:
                    "SELECT EXISTS (SELECT 1 FROM result_step WHERE interview_id = ? AND step = 'move' AND state = 'done')",
                arguments: [interviewId]) ?? false
        }
    }

    /// Records the intent of a step before it is applied.
    public func recordStepIntent(_ step: ResultStepRecord, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO result_step (interview_id, fingerprint, step, opportunity_id, state, marker, updated_ms)
                    VALUES (?, ?, ?, ?, 'pending', ?, ?)
                    """,
                arguments: [
                    step.interviewId, step.fingerprint, step.step.rawValue, step.opportunityId, step.marker, now,
                ])
        }
    }

    /// Records that a step is applied.
    public func recordStepDone(
        interviewId: String, fingerprint: String, step: ResultStepRecord.Step, opportunityId: String,
        marker: String? = nil, noteId: String? = nil, now: Millis
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO result_step (interview_id, fingerprint, step, opportunity_id, state, marker, note_id, updated_ms)
                    VALUES (?, ?, ?, ?, 'done', ?, ?, ?)
                    ON CONFLICT (interview_id, fingerprint, step) DO UPDATE SET state = 'done', note_id = coalesce(excluded.note_id, note_id),
                        updated_ms = excluded.updated_ms
                    """, arguments: [interviewId, fingerprint, step.rawValue, opportunityId, marker, noteId, now])
        }
    }

    /// Records that a result version is fully written back.
    public func recordResultApplied(
        interviewId: String, opportunityId: String, fingerprint: String, grade: HubertGrade, now: Millis
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO applied_result (interview_id, opportunity_id, fingerprint, grade, applied_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (interview_id) DO UPDATE SET fingerprint = excluded.fingerprint, grade = excluded.grade, applied_ms = excluded.applied_ms
                    """, arguments: [interviewId, opportunityId, fingerprint, grade.rawValue, now])
            try db.execute(
                sql: "UPDATE invitation SET interview_status = 'completed', updated_ms = ? WHERE interview_id = ?",
                arguments: [now, interviewId])
            // Every step of every version is settled now: nothing of this interview is due any more.
            try db.execute(
                sql:
                    "UPDATE result_step SET state = 'done', updated_ms = ? WHERE interview_id = ? AND state = 'pending'",
                arguments: [now, interviewId])
            try db.execute(sql: "DELETE FROM result_due WHERE interview_id = ?", arguments: [interviewId])
        }
    }

    // MARK: Retention

    /// Forgets everything held about these opportunities (deleted or anonymized in Lever). Returns rows removed.
    @discardableResult
    public func purge(opportunityIds: [String]) async throws -> Int {
        guard !opportunityIds.isEmpty else { return 0 }
        return try await writer.write { db in
            var removed = 0
            for id in opportunityIds {
                for table in ["invitation", "result_step", "applied_result", "result_due", "problem", "applicant"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE opportunity_id = ?", arguments: [id])
                    removed += db.changesCount
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
    @discardableResult
    public func prune(before: Millis) async throws -> Int {
        try await writer.write { db in
            var removed = 0
            let statements = [
                "DELETE FROM run WHERE started_ms < ?",
                "DELETE FROM problem WHERE last_seen_ms < ?",
                "DELETE FROM result_step WHERE state = 'done' AND updated_ms < ?",
                "DELETE FROM result_due WHERE state = 'given_up' AND last_attempt_ms < ?",
            ]
            for sql in statements {
                try db.execute(sql: sql, arguments: [before])
                removed += db.changesCount
            }
            return removed
        }
    }

    /// When the last run that finished with exit 0 started.
    public func lastSuccess() async throws -> Millis? {
        try await writer.read { db in
            try Millis.fetchOne(db, sql: "SELECT max(finished_ms) FROM run WHERE exit_code = 0")
        }
    }

    // MARK: Runs and problems

    /// Records the start of a run.
    public func recordRunStart(id: String, kind: String, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO run (id, kind, started_ms) VALUES (?, ?, ?)", arguments: [id, kind, now])
        }
    }

    /// Records the end of a run with its counts and exit status.
    /// Also inserts the row when the start was never recorded (a pass cancelled by a signal before it could be).
    public func recordRunEnd(
        id: String, kind: String = "run", startedAt: Millis? = nil, exitCode: Int32, countsJSON: String,
        leverRequests: Int, hubertRequests: Int, message: String?, now: Millis
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO run (id, kind, started_ms, finished_ms, exit_code, counts_json, lever_requests, hubert_requests, message)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET finished_ms = excluded.finished_ms, exit_code = excluded.exit_code,
                        counts_json = excluded.counts_json, lever_requests = excluded.lever_requests,
                        hubert_requests = excluded.hubert_requests, message = excluded.message
                    """,
                arguments: [
                    id, kind, startedAt ?? now, now, exitCode, countsJSON, leverRequests, hubertRequests,
                    message,
                ])
        }
    }

    /// Stores problems (one row per opportunity, posting and reason; refreshed when seen again).
    public func recordProblems(_ problems: [Problem], runId: String, now: Millis) async throws {
        guard !problems.isEmpty else { return }
        try await writer.write { db in
            for problem in problems {
                try db.execute(
                    sql: """
                        INSERT INTO problem (opportunity_id, posting_id, reason, message, first_seen_ms, last_seen_ms, run_id)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (opportunity_id, posting_id, reason) DO UPDATE SET message = excluded.message,
                            last_seen_ms = excluded.last_seen_ms, run_id = excluded.run_id
                        """,
                    arguments: [
                        problem.opportunityId ?? "", problem.postingId ?? "", problem.reason, problem.message,
                        now, now, runId,
                    ])
            }
        }
    }

    /// Removes posting-level problems that no longer hold (a posting whose tag was fixed or removed).
    public func clearPostingProblems(postingIds: [String]) async throws {
        guard !postingIds.isEmpty else { return }
        try await writer.write { db in
            for id in postingIds {
                try db.execute(sql: "DELETE FROM problem WHERE posting_id = ? AND opportunity_id = ''", arguments: [id])
            }
        }
    }

    /// Removes an opportunity's problems once it was handled (for example invited after its e-mail was added).
    public func clearOpportunityProblems(opportunityId: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM problem WHERE opportunity_id = ?", arguments: [opportunityId])
        }
    }

    /// Runs a read-only query (for `status` and tests).
    public func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await writer.read(body)
    }
}
