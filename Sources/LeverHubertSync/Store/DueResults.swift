import Foundation
import GRDB

extension Store {
    /// Records that this result version is due, before its first step is applied, and returns the row. A new
    /// version (regrade) restarts the give-up clock; the same version keeps it, so a step that fails for days is
    /// given up in the end.
    @discardableResult
    public func markResultDue(interviewId: String, opportunityId: String, fingerprint: String, now: Millis) async throws
        -> DueResult
    {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO result_due (interview_id, opportunity_id, fingerprint, state, first_due_ms, last_attempt_ms, attempts)
                    VALUES (?, ?, ?, ?, ?, ?, 0)
                    ON CONFLICT (interview_id) DO UPDATE SET
                        first_due_ms = CASE WHEN fingerprint = excluded.fingerprint THEN first_due_ms ELSE excluded.first_due_ms END,
                        state = CASE WHEN fingerprint = excluded.fingerprint THEN state ELSE excluded.state END,
                        attempts = CASE WHEN fingerprint = excluded.fingerprint THEN attempts ELSE 0 END,
                        fingerprint = excluded.fingerprint, opportunity_id = excluded.opportunity_id
                    """, arguments: [interviewId, opportunityId, fingerprint, DueResult.State.due, now, now])
            return try DueResult.fetchOne(db, key: interviewId)!
        }
    }

    /// The due row of an interview, if any.
    public func dueResult(interviewId: String) async throws -> DueResult? {
        try await writer.read { db in try DueResult.fetchOne(db, key: interviewId) }
    }

    /// Records a failed attempt: the result stays due and is tried again on the next pass.
    public func recordResultAttemptFailed(interviewId: String, error: String, now: Millis) async throws {
        try await writer.write { db in
            _ = try DueResult.filter(key: interviewId).updateAll(
                db, DueResult.Columns.attempts.set(to: DueResult.Columns.attempts + 1),
                DueResult.Columns.lastError.set(to: String(error.prefix(500))),
                DueResult.Columns.lastAttempt.set(to: now))
        }
    }

    /// Gives a due result up: it is no longer tried, and `status` shows it (the row is made if there was none, so a
    /// result only a pending step remembered is not picked up again).
    public func giveUpResult(_ due: DueResult, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO result_due (interview_id, opportunity_id, fingerprint, state, first_due_ms, last_attempt_ms, attempts,
                        last_error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (interview_id) DO UPDATE SET state = excluded.state, last_attempt_ms = excluded.last_attempt_ms
                    """,
                arguments: [
                    due.interviewId, due.opportunityId, due.fingerprint, DueResult.State.givenUp, due.firstDue, now,
                    due.attempts, due.lastError,
                ])
        }
    }

    /// Interviews whose write-back is not finished: a due version, or a step recorded and not confirmed.
    public func unfinishedResults() async throws -> [DueResult] {
        try await writer.read { db in
            let all = try DueResult.order(DueResult.Columns.firstDue).fetchAll(db)
            let known = Set(all.map(\.interviewId))
            var rows = all.filter { $0.state == .due }
            // A pending step without a due row (recorded by an earlier version of the tool, or a due row lost): due
            // since its oldest step, never attempted.
            let orphans = try DueResult.fetchAll(
                db,
                sql: """
                    SELECT interview_id, opportunity_id, fingerprint, ? AS state, min(updated_ms) AS first_due_ms,
                        0 AS attempts, NULL AS last_error
                    FROM result_step WHERE state = ? GROUP BY interview_id
                    """, arguments: [DueResult.State.due, ResultStepRecord.State.pending])
            rows += orphans.filter { !known.contains($0.interviewId) }
            return rows
        }
    }
}
