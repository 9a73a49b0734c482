import Foundation
import GRDB

/// Retention (what Lever deleted is purged, what is finished is pruned), the history of runs and the problems that
/// need a human.
extension Store {
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
                // The last clean run stays whatever it did: `status` and the metrics name the last success. So does the
                // last clean live run of each day: the anchor a pass takes when the clock stepped back
                // (`lastCleanRunStart`), which passes run while the clock was ahead must not prune away.
                try db.execute(
                    sql: """
                        DELETE FROM run WHERE idle = 1 AND started_ms < ?
                            AND id IS NOT (SELECT id FROM run WHERE exit_code = 0 ORDER BY finished_ms DESC LIMIT 1)
                            AND id NOT IN (
                                SELECT id FROM (SELECT id, max(started_ms) FROM run WHERE kind = 'run' AND exit_code = 0
                                    GROUP BY started_ms / 86400000))
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
                try ProblemRecord.fetchOne(
                    db,
                    key: [
                        "opportunity_id": problem.opportunityId ?? "", "posting_id": problem.postingId ?? "",
                        "reason": problem.reason,
                    ])?.firstSeen
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
}
