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
        try SentTimes.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, sent_ms, applied_ms FROM invitation
                WHERE state = ? AND sent_ms IS NOT NULL AND applied_ms IS NOT NULL AND sent_ms BETWEEN ? AND ?
                """, arguments: [InvitationRecord.State.sent, from, through]
        ).map(\.seconds)
    }

    /// A count of rows of one (posting, template).
    private struct PairCount: Decodable, FetchableRecord {
        var postingId: String
        var templateId: String
        var n: Int
        var pair: PostingTemplate { PostingTemplate(postingId: postingId, templateId: templateId) }
        enum CodingKeys: String, CodingKey {
            case postingId = "posting_id"
            case templateId = "template_id"
            case n
        }
    }

    /// A count of standing grades of one (posting, template).
    private struct GradeCount: Decodable, FetchableRecord {
        var postingId: String
        var templateId: String
        var grade: String
        var n: Int
        var pair: PostingTemplate { PostingTemplate(postingId: postingId, templateId: templateId) }
        enum CodingKeys: String, CodingKey {
            case postingId = "posting_id"
            case templateId = "template_id"
            case grade, n
        }
    }

    /// When an invitation's application was created and when Hubert confirmed it.
    private struct SentTimes: Decodable, FetchableRecord {
        var postingId: String
        var templateId: String
        var sentMs: Millis
        var appliedMs: Millis
        var pair: PostingTemplate { PostingTemplate(postingId: postingId, templateId: templateId) }
        var seconds: Double { Store.seconds(sentMs: sentMs, appliedMs: appliedMs) }
        enum CodingKeys: String, CodingKey {
            case postingId = "posting_id"
            case templateId = "template_id"
            case sentMs = "sent_ms"
            case appliedMs = "applied_ms"
        }
    }

    /// Open problems of one reason on one (posting, template), the posting's own or its applicants'.
    private struct ProblemCount: Decodable, FetchableRecord {
        var postingId: String
        var templateId: String
        var reason: String
        var postingLevel: Bool
        var n: Int
        var pair: PostingTemplate { PostingTemplate(postingId: postingId, templateId: templateId) }
        enum CodingKeys: String, CodingKey {
            case postingId = "posting_id"
            case templateId = "template_id"
            case reason
            case postingLevel = "posting_level"
            case n
        }
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
        for row in try PairCount.fetchAll(
            db,
            sql: """
                SELECT a.posting_id, a.template_id, count(*) AS n FROM applicant a
                WHERE coalesce(a.applied_ms, a.seen_ms) >= ?
                    AND a.seen_ms >= coalesce((SELECT max(p.start_ms) FROM tagging_period p
                                               WHERE p.posting_id = a.posting_id AND p.template_id = a.template_id), 0)
                GROUP BY a.posting_id, a.template_id
                """, arguments: [cohort])
        {
            entries[row.pair]?.applied = row.n
        }
        for row in try PairCount.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, count(*) AS n FROM invitation
                WHERE state = ? AND coalesce(applied_ms, created_ms) >= ? GROUP BY posting_id, template_id
                """, arguments: [sent, cohort])
        {
            entries[row.pair]?.invited = row.n
        }
        for row in try GradeCount.fetchAll(
            db,
            sql: """
                SELECT i.posting_id, i.template_id, r.grade, count(*) AS n
                FROM applied_result r JOIN invitation i ON i.interview_id = r.interview_id
                WHERE coalesce(i.applied_ms, i.created_ms) >= ? GROUP BY i.posting_id, i.template_id, r.grade
                """, arguments: [cohort])
        {
            let k = row.pair
            guard entries[k] != nil else { continue }
            entries[k]?.completed += row.n
            switch HubertGrade(rawValue: row.grade) {
            case .lead: entries[k]?.lead += row.n
            case .passed: entries[k]?.passed += row.n
            default: entries[k]?.notQualified += row.n
            }
        }
        var latencies: [PostingTemplate: [Double]] = [:]
        for row in try SentTimes.fetchAll(
            db,
            sql: """
                SELECT posting_id, template_id, sent_ms, applied_ms FROM invitation
                WHERE state = ? AND sent_ms IS NOT NULL AND applied_ms IS NOT NULL AND applied_ms >= ?
                """, arguments: [sent, cohort])
        {
            latencies[row.pair, default: []].append(row.seconds)
        }
        for (k, values) in latencies where entries[k] != nil {
            entries[k]?.inviteLatencySeconds = FunnelEntry.Latency(seconds: values)
        }
        // Open problems: the posting's own (by posting_id) and those of its applicants (by opportunity), each row
        // once even when it matches both ways.
        for row in try ProblemCount.fetchAll(
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
                    reason: row.reason, scope: row.postingLevel ? "posting" : "opportunity", count: row.n))
        }
        return order.compactMap { entries[$0] }
    }
}
