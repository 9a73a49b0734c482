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
            guard let run = try RunRecord.fetchOne(db, key: runId) else { return [] }
            return try Self.latencies(db, confirmedFrom: run.startedAt, through: run.finishedAt ?? Millis.max)
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
                SELECT posting_id, template_id, sent_ms, applied_ms FROM invitation
                WHERE state = ? AND sent_ms IS NOT NULL AND applied_ms IS NOT NULL AND sent_ms BETWEEN ? AND ?
                """, arguments: [InvitationRecord.State.sent, from, through]
        ).map(\.latencySeconds)
    }

    /// The funnel inside a read transaction (so that `statusReport` sees one snapshot).
    static func funnel(_ db: Database, since: Millis?) throws -> [FunnelEntry] {
        let cohort = since ?? Millis.min
        let sent = InvitationRecord.State.sent
        var entries: [PostingTemplate: FunnelEntry] = [:]
        var order: [PostingTemplate] = []
        let tags =
            try PostingTagRecord
            .order(
                (PostingTagRecord.Columns.postingName ?? PostingTagRecord.Columns.postingId).collating(.nocase),
                PostingTagRecord.Columns.postingId, PostingTagRecord.Columns.firstSeen
            )
            .fetchAll(db)
        for tag in tags {
            entries[tag.pair] = FunnelEntry(
                postingId: tag.postingId, postingName: tag.postingName, templateId: tag.templateId)
            order.append(tag.pair)
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT a.posting_id, a.template_id, count(*) AS n FROM applicant a
                WHERE coalesce(a.applied_ms, a.seen_ms) >= ?
                    AND a.seen_ms >= coalesce((SELECT max(p.start_ms) FROM tagging_period p
                                               WHERE p.posting_id = a.posting_id AND p.template_id = a.template_id), 0)
                GROUP BY a.posting_id, a.template_id
                """, arguments: [cohort])
        {
            entries[row.pair]?.applied = row["n"]
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, count(*) AS n FROM invitation
                WHERE state = ? AND coalesce(applied_ms, created_ms) >= ? GROUP BY posting_id, template_id
                """, arguments: [sent, cohort])
        {
            entries[row.pair]?.invited = row["n"]
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT i.posting_id, i.template_id, r.grade, count(*) AS n
                FROM applied_result r JOIN invitation i ON i.interview_id = r.interview_id
                WHERE coalesce(i.applied_ms, i.created_ms) >= ? GROUP BY i.posting_id, i.template_id, r.grade
                """, arguments: [cohort])
        {
            let k = row.pair
            let n: Int = row["n"]
            guard entries[k] != nil else { continue }
            entries[k]?.completed += n
            switch HubertGrade(rawValue: row["grade"]) {
            case .lead: entries[k]?.lead += n
            case .passed: entries[k]?.passed += n
            default: entries[k]?.notQualified += n
            }
        }
        var latencies: [PostingTemplate: [Double]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, sent_ms, applied_ms FROM invitation
                WHERE state = ? AND sent_ms IS NOT NULL AND applied_ms IS NOT NULL AND applied_ms >= ?
                """, arguments: [sent, cohort])
        {
            latencies[row.pair, default: []].append(row.latencySeconds)
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
            entries[row.pair]?.openProblems.append(
                FunnelEntry.OpenProblem(
                    reason: row["reason"], scope: (row["posting_level"] as Bool) ? "posting" : "opportunity",
                    count: row["n"]))
        }
        return order.compactMap { entries[$0] }
    }

    /// Records a page's applicants of tagged postings (the funnel), in one transaction; a pair seen before stays.
    func recordApplicants(
        _ applicants: [(opportunityId: String, postingId: String, templateId: String, appliedAt: Millis?)],
        now: Millis
    ) async throws {
        guard !applicants.isEmpty else { return }
        try await writer.write { db in
            for a in applicants {
                try ApplicantRecord(
                    opportunityId: a.opportunityId, templateId: a.templateId, postingId: a.postingId,
                    appliedAt: a.appliedAt, seenAt: now
                ).insert(db, onConflict: .ignore)
            }
        }
    }
}

/// The columns the funnel's grouped rows share.
extension Row {
    /// The row's (`posting_id`, `template_id`).
    fileprivate var pair: PostingTemplate {
        PostingTemplate(postingId: self["posting_id"], templateId: self["template_id"])
    }

    /// The invitation latency of a row with `sent_ms` and `applied_ms`, in seconds.
    fileprivate var latencySeconds: Double { Store.seconds(sentMs: self["sent_ms"], appliedMs: self["applied_ms"]) }
}
