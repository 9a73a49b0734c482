import Foundation
import GRDB

/// A result version due for write-back, as the ledger keeps it.
public struct DueResult: Sendable, Equatable {
    public enum State: String, Sendable {
        case due
        case givenUp = "given_up"
    }
    public var interviewId: String
    public var opportunityId: String
    public var fingerprint: String
    public var state: State
    /// When this version first became due (the give-up clock starts here).
    public var firstDue: Millis
    public var attempts: Int
    public var lastError: String?
}

extension Store {
    private static func due(_ row: Row) -> DueResult {
        DueResult(
            interviewId: row["interview_id"], opportunityId: row["opportunity_id"], fingerprint: row["fingerprint"],
            state: DueResult.State(rawValue: row["state"]) ?? .due, firstDue: row["first_due_ms"],
            attempts: row["attempts"], lastError: row["last_error"])
    }

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
                    VALUES (?, ?, ?, 'due', ?, ?, 0)
                    ON CONFLICT (interview_id) DO UPDATE SET
                        first_due_ms = CASE WHEN fingerprint = excluded.fingerprint THEN first_due_ms ELSE excluded.first_due_ms END,
                        state = CASE WHEN fingerprint = excluded.fingerprint THEN state ELSE 'due' END,
                        attempts = CASE WHEN fingerprint = excluded.fingerprint THEN attempts ELSE 0 END,
                        fingerprint = excluded.fingerprint, opportunity_id = excluded.opportunity_id
                    """, arguments: [interviewId, opportunityId, fingerprint, now, now])
            return try Row.fetchOne(
                db, sql: "SELECT * FROM result_due WHERE interview_id = ?", arguments: [interviewId]
            )
            .map(Self.due)!
        }
    }

    /// The due row of an interview, if any.
    public func dueResult(interviewId: String) async throws -> DueResult? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM result_due WHERE interview_id = ?", arguments: [interviewId]).map(
                Self.due)
        }
    }

    /// Records a failed attempt: the result stays due and is tried again on the next pass.
    public func recordResultAttemptFailed(interviewId: String, error: String, now: Millis) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE result_due SET attempts = attempts + 1, last_error = ?, last_attempt_ms = ? WHERE interview_id = ?
                    """, arguments: [String(error.prefix(500)), now, interviewId])
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
                    VALUES (?, ?, ?, 'given_up', ?, ?, ?, ?)
                    ON CONFLICT (interview_id) DO UPDATE SET state = 'given_up', last_attempt_ms = excluded.last_attempt_ms
                    """,
                arguments: [
                    due.interviewId, due.opportunityId, due.fingerprint, due.firstDue, now, due.attempts,
                    due.lastError,
                ])
        }
    }

    /// Interviews whose write-back is not finished: a due version, or a step recorded and not confirmed.
    public func unfinishedResults() async throws -> [DueResult] {
        try await writer.read { db in
            let all = try Row.fetchAll(db, sql: "SELECT * FROM result_due ORDER BY first_due_ms").map(Self.due)
            let known = Set(all.map(\.interviewId))
            var rows = all.filter { $0.state == .due }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT interview_id, opportunity_id, fingerprint, min(updated_ms) AS since FROM result_step
                    WHERE state = 'pending' GROUP BY interview_id
                    """) where !known.contains(row["interview_id"])
            {
                rows.append(
                    DueResult(
                        interviewId: row["interview_id"], opportunityId: row["opportunity_id"],
                        fingerprint: row["fingerprint"], state: .due, firstDue: row["since"], attempts: 0,
                        lastError: nil))
            }
            return rows
        }
    }

    // MARK: Meta

    /// Marks this database as made by `demo`.
    public func markDemoDatabase() async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('made_by', 'demo')")
        }
    }

    /// Adds to the cumulative counters (kept as `counter.<name>` rows of `meta`), in one transaction.
    public func addToCounters(_ deltas: [String: Int]) async throws {
        try await writer.write { db in
            for (name, delta) in deltas where delta != 0 {
                try db.execute(
                    sql: """
                        INSERT INTO meta (key, value) VALUES (?, ?)
                        ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)
                        """, arguments: ["counter." + name, String(delta)])
            }
        }
    }

    /// The cumulative counters, by name.
    public func counters() async throws -> [String: Int] {
        try await writer.read { db in
            var result: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key LIKE 'counter.%'") {
                let key: String = row["key"]
                let value: String = row["value"]
                result[String(key.dropFirst("counter.".count))] = Int(value) ?? 0
            }
            return result
        }
    }

    /// Whether `demo` made this database.
    public func isDemoDatabase() async throws -> Bool {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'made_by'") == "demo"
        }
    }
}
