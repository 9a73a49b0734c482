import Foundation
import GRDB

/// The ledger's queries for the funnel (`status --json` `funnel`, `status --html`) and the invitation-latency
/// histogram. Read only; each a handful of grouped scans, whatever the number of postings.
extension Store {
    /// The funnel of every tagged posting (`posting_tag`), ordered by posting name. `since`: only applications
    /// created at or after it (see `FunnelEntry`).
    public func funnel(since: Millis? = nil) async throws -> [FunnelEntry] {
        try await read { db in try Self.funnel(db, since: since) }
    }

    /// The latencies (seconds, application created → Hubert confirmed) of the invitations confirmed during run
    /// `runId` (between its start and its end, or now while it runs), in no particular order.
    public func inviteLatencies(runId: String) async throws -> [Double] {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT started_ms, finished_ms FROM run WHERE id = ?",
                    arguments: [runId])
            else { return [] }
            let finished: Millis? = row["finished_ms"]
            return try Self.latencies(db, confirmedFrom: row["started_ms"], through: finished ?? Millis.max)
        }
    }

    /// The latencies (seconds) of the invitations Hubert confirmed from `from` through `through` (ms, inclusive).
    public func inviteLatencies(confirmedFrom from: Millis, through: Millis = Millis.max) async throws -> [Double] {
        try await read { db in try Self.latencies(db, confirmedFrom: from, through: through) }
    }

    /// One latency in seconds: a negative difference (Lever's clock ahead of ours) counts as 0.
    static func seconds(sentMs: Millis, appliedMs: Millis) -> Double { Double(max(0, sentMs - appliedMs)) / 1000 }

    static func latencies(_ db: Database, confirmedFrom from: Millis, through: Millis) throws -> [Double] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT sent_ms, applied_ms FROM invitation
                WHERE state = 'sent' AND sent_ms IS NOT NULL AND applied_ms IS NOT NULL AND sent_ms BETWEEN ? AND ?
                """, arguments: [from, through]
        ).map { seconds(sentMs: $0["sent_ms"], appliedMs: $0["applied_ms"]) }
    }

    /// The funnel inside a read transaction (so that `StatusReport.load` sees one snapshot).
    static func funnel(_ db: Database, since: Millis?) throws -> [FunnelEntry] {
        let cohort = since ?? Millis.min
        var entries: [String: FunnelEntry] = [:]
        var order: [String] = []
        func key(_ row: Row) -> String { (row["posting_id"] as String) + "|" + (row["template_id"] as String) }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, posting_name FROM posting_tag
                ORDER BY coalesce(posting_name, posting_id) COLLATE NOCASE, posting_id, first_seen_ms
                """)
        {
            entries[key(row)] = FunnelEntry(
                postingId: row["posting_id"], postingName: row["posting_name"],
                templateId: row["template_id"])
            order.append(key(row))
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, count(*) AS n FROM applicant
                WHERE coalesce(applied_ms, seen_ms) >= ? GROUP BY posting_id, template_id
                """, arguments: [cohort])
        {
            entries[key(row)]?.applied = row["n"]
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, count(*) AS n FROM invitation
                WHERE state = 'sent' AND coalesce(applied_ms, created_ms) >= ? GROUP BY posting_id, template_id
                """, arguments: [cohort])
        {
            entries[key(row)]?.invited = row["n"]
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT i.posting_id, i.template_id, r.grade, count(*) AS n
                FROM applied_result r JOIN invitation i ON i.interview_id = r.interview_id
                WHERE coalesce(i.applied_ms, i.created_ms) >= ? GROUP BY i.posting_id, i.template_id, r.grade
                """, arguments: [cohort])
        {
            let k = key(row)
            guard entries[k] != nil else { continue }
            let n: Int = row["n"]
            entries[k]?.completed += n
            switch row["grade"] as String {
            case "lead": entries[k]?.lead += n
            case "passed": entries[k]?.passed += n
            default: entries[k]?.notQualified += n
            }
        }
        var latencies: [String: [Double]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, sent_ms, applied_ms FROM invitation
                WHERE state = 'sent' AND sent_ms IS NOT NULL AND applied_ms IS NOT NULL AND applied_ms >= ?
                """, arguments: [cohort])
        {
            latencies[key(row), default: []].append(seconds(sentMs: row["sent_ms"], appliedMs: row["applied_ms"]))
        }
        for (k, values) in latencies where entries[k] != nil {
            entries[k]?.inviteLatencySeconds = FunnelEntry.Latency(seconds: values)
        }
        // Open problems: the posting's own (by posting_id) and those of its applicants (by opportunity), each row
        // once even when it matches both ways.
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, reason, (opportunity_id = '') AS posting_level, count(*) AS n FROM (
                    SELECT t.posting_id, t.template_id, p.opportunity_id, p.reason
                    FROM posting_tag t JOIN problem p ON p.posting_id = t.posting_id
                    UNION
                    SELECT a.posting_id, a.template_id, p.opportunity_id, p.reason
                    FROM applicant a JOIN problem p ON p.opportunity_id = a.opportunity_id
                    WHERE p.opportunity_id <> ''
                ) GROUP BY 1, 2, 3, 4 ORDER BY 4 DESC, 5 DESC, 3
                """)
        {
            let postingLevel: Bool = row["posting_level"]
            entries[key(row)]?.openProblems.append(
                FunnelEntry.OpenProblem(
                    reason: row["reason"], scope: postingLevel ? "posting" : "opportunity", count: row["n"]))
        }
        return order.compactMap { entries[$0] }
    }
}
