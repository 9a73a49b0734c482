import Foundation
import GRDB

/// A posting's tagging period as stored (`tagging_period`).
struct TaggingPeriodRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "tagging_period"
    var id: Int64?
    var postingId: String
    var templateId: String
    var start: Millis
    var end: Millis?

    var period: TaggingPeriod { TaggingPeriod(templateId: templateId, start: start, end: end) }

    enum CodingKeys: String, CodingKey {
        case id
        case postingId = "posting_id"
        case templateId = "template_id"
        case start = "start_ms"
        case end = "end_ms"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let postingId = Column(CodingKeys.postingId)
        static let end = Column(CodingKeys.end)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The first sighting of a malformed Hubert tag on a posting (`posting_malformed`).
struct PostingMalformedRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "posting_malformed"
    var postingId: String
    var since: Millis
    var correctedAt: Millis?
    enum CodingKeys: String, CodingKey {
        case postingId = "posting_id"
        case since = "since_ms"
        case correctedAt = "corrected_ms"
    }
    enum Columns {
        static let correctedAt = Column(CodingKeys.correctedAt)
    }
}

/// A held-back (opportunity, template) as stored (`hold`).
public struct HoldRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "hold"
    public enum State: String, Codable, Sendable, DatabaseValueConvertible {
        case held
        case givenUp = "given_up"
    }
    public var opportunityId: String
    public var templateId: String
    public var postingId: String
    public var reason: String
    public var state: State
    public var trigger: Millis?
    public var opportunityUpdatedAt: Millis?
    public var since: Millis
    public var updatedAt: Millis

    public var hold: HoldState {
        HoldState(
            reason: reason, since: since, trigger: trigger, givenUp: state == .givenUp,
            opportunityUpdatedAt: opportunityUpdatedAt)
    }

    public enum CodingKeys: String, CodingKey {
        case opportunityId = "opportunity_id"
        case templateId = "template_id"
        case postingId = "posting_id"
        case reason, state
        case trigger = "trigger_ms"
        case opportunityUpdatedAt = "opportunity_updated_ms"
        case since = "since_ms"
        case updatedAt = "updated_ms"
    }

    public enum Columns {
        public static let opportunityId = Column(CodingKeys.opportunityId)
        public static let templateId = Column(CodingKeys.templateId)
        public static let postingId = Column(CodingKeys.postingId)
        public static let reason = Column(CodingKeys.reason)
        public static let state = Column(CodingKeys.state)
        public static let trigger = Column(CodingKeys.trigger)
        public static let since = Column(CodingKeys.since)
    }
}

/// Eligibility as state: the postings' tagging periods and the held-back candidates.
extension Store {
    // MARK: Tagging periods

    /// Every posting's tagging periods, in the order they began.
    public func taggingPeriods() async throws -> [String: [TaggingPeriod]] {
        try await writer.read { db in
            var result: [String: [TaggingPeriod]] = [:]
            for record in try TaggingPeriodRecord.order(TaggingPeriodRecord.Columns.id).fetchAll(db) {
                result[record.postingId, default: []].append(record.period)
            }
            return result
        }
    }

    /// One posting's tagging periods, in the order they began.
    public func taggingPeriods(postingId: String) async throws -> [TaggingPeriod] {
        try await writer.read { db in
            try TaggingPeriodRecord.filter(TaggingPeriodRecord.Columns.postingId == postingId)
                .order(TaggingPeriodRecord.Columns.id).fetchAll(db).map(\.period)
        }
    }

    /// Since when each posting has carried a malformed Hubert tag, in one read: `malformed`, those still malformed;
    /// `corrected`, those a pass saw corrected whose window was not yet fully processed.
    func malformedPostings() async throws -> (malformed: [String: Millis], corrected: [String: Millis]) {
        try await writer.read { db in
            var result: (malformed: [String: Millis], corrected: [String: Millis]) = ([:], [:])
            for row in try PostingMalformedRecord.fetchAll(db) {
                if row.correctedAt == nil {
                    result.malformed[row.postingId] = row.since
                } else {
                    result.corrected[row.postingId] = row.since
                }
            }
            return result
        }
    }

    /// Forgets the corrections seen at or before `upTo`: called once the checkpoint has moved past them.
    func clearCorrectedMalformed(upTo: Millis) async throws {
        try await writer.write { db in
            _ = try PostingMalformedRecord.filter(PostingMalformedRecord.Columns.correctedAt <= upTo).deleteAll(db)
        }
    }

    /// Applies the period changes of one pass, in one transaction.
    func applyPeriodChanges(_ changes: [String: PeriodChange]) async throws {
        guard changes.contains(where: { !$0.value.isEmpty }) else { return }
        try await writer.write { db in
            for (postingId, change) in changes.sorted(by: { $0.key < $1.key }) where !change.isEmpty {
                if let end = change.closeAt {
                    try db.execute(
                        sql: """
                            UPDATE tagging_period SET end_ms = max(start_ms, ?) WHERE posting_id = ? AND end_ms IS NULL
                            """, arguments: [end, postingId])
                }
                if let period = change.open {
                    var record = TaggingPeriodRecord(
                        id: nil, postingId: postingId, templateId: period.templateId, start: period.start, end: nil)
                    try record.insert(db)
                }
                switch change.malformedSince {
                case .some(.some(let since)):
                    try db.execute(
                        sql: """
                            INSERT INTO posting_malformed (posting_id, since_ms) VALUES (?, ?)
                            ON CONFLICT (posting_id) DO UPDATE SET since_ms = excluded.since_ms, corrected_ms = NULL
                                WHERE corrected_ms IS NOT NULL
                            """, arguments: [postingId, since])
                case .some(.none): _ = try PostingMalformedRecord.deleteOne(db, key: postingId)
                case .none: break
                }
                if let corrected = change.malformedCorrectedAt {
                    typealias Columns = PostingMalformedRecord.Columns
                    _ = try PostingMalformedRecord.filter(key: postingId).filter(Columns.correctedAt == nil)
                        .updateAll(db, Columns.correctedAt.set(to: corrected))
                }
            }
        }
    }

    // MARK: Holds

    /// The holds among these opportunities, keyed by (opportunity, template): one query for a page.
    public func holds(opportunityIds: [String]) async throws -> [InvitationKey: HoldState] {
        guard !opportunityIds.isEmpty else { return [:] }
        let ids = Array(Set(opportunityIds))
        return try await writer.read { db in
            var result: [InvitationKey: HoldState] = [:]
            for record in try HoldRecord.filter(ids.contains(HoldRecord.Columns.opportunityId)).fetchAll(db) {
                result[InvitationKey(opportunityId: record.opportunityId, templateId: record.templateId)] = record.hold
            }
            return result
        }
    }

    /// Every hold of one opportunity.
    public func holds(opportunityId: String) async throws -> [HoldRecord] {
        try await writer.read { db in
            try HoldRecord.filter(HoldRecord.Columns.opportunityId == opportunityId).fetchAll(db)
        }
    }

    /// Holds a candidate back (or refreshes its reason); a candidate held before keeps the time it was first held.
    public func recordHold(
        opportunityId: String, templateId: String, postingId: String, reason: String, trigger: Millis?,
        opportunityUpdatedAt: Millis?, now: Millis
    ) async throws {
        try await writer.write { db in
            try Self.upsertHold(
                db, opportunityId: opportunityId, templateId: templateId, postingId: postingId, reason: reason,
                trigger: trigger, opportunityUpdatedAt: opportunityUpdatedAt, now: now)
        }
    }

    /// Hubert refused an invitation for a cause a later edit can change (nothing is kept under its key): the intent
    /// is withdrawn and the candidate held, in one transaction, so that the fixed candidate is invited once.
    public func holdRefusedInvitation(
        opportunityId: String, templateId: String, postingId: String, reason: String, trigger: Millis?,
        opportunityUpdatedAt: Millis?, now: Millis
    ) async throws {
        try await writer.write { db in
            _ =
                try InvitationRecord
                .filter(
                    InvitationRecord.Columns.opportunityId == opportunityId
                        && InvitationRecord.Columns.templateId == templateId
                        && InvitationRecord.Columns.state == InvitationRecord.State.pending
                )
                .deleteAll(db)
            try Self.upsertHold(
                db, opportunityId: opportunityId, templateId: templateId, postingId: postingId, reason: reason,
                trigger: trigger, opportunityUpdatedAt: opportunityUpdatedAt, now: now)
        }
    }

    /// The one statement that holds a candidate: a new row, or a held one's reason, posting and edit time refreshed
    /// (its first-held time and trigger kept); a given-up row stays given up.
    private static func upsertHold(
        _ db: Database, opportunityId: String, templateId: String, postingId: String, reason: String,
        trigger: Millis?, opportunityUpdatedAt: Millis?, now: Millis
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO hold (opportunity_id, template_id, posting_id, reason, state, trigger_ms,
                    opportunity_updated_ms, since_ms, updated_ms)
                VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?)
                ON CONFLICT (opportunity_id, template_id) DO UPDATE SET reason = excluded.reason,
                    posting_id = excluded.posting_id, trigger_ms = coalesce(trigger_ms, excluded.trigger_ms),
                    opportunity_updated_ms = excluded.opportunity_updated_ms, updated_ms = excluded.updated_ms
                    WHERE state = 'held'
                """,
            arguments: [opportunityId, templateId, postingId, reason, trigger, opportunityUpdatedAt, now, now])
    }

    /// Lets a held candidate go (invited, or no longer due), with its problems.
    public func releaseHold(opportunityId: String, templateId: String) async throws {
        try await writer.write { db in
            _ = try HoldRecord.deleteOne(db, key: ["opportunity_id": opportunityId, "template_id": templateId])
            _ = try Self.holdProblems(of: opportunityId).deleteAll(db)
        }
    }

    /// The problems an opportunity's holds put on record (their reasons); its other problems (a write-back or an
    /// invitation given up) are reported once and stay.
    static func holdProblems(of opportunityId: String) -> QueryInterfaceRequest<ProblemRecord> {
        ProblemRecord.filter(
            ProblemRecord.Columns.opportunityId == opportunityId
                && HoldReason.allCases.map(\.rawValue).contains(ProblemRecord.Columns.reason))
    }

    /// Gives up every candidate held since before `before`: they are returned once, and never invited by a pass.
    func giveUpHolds(before: Millis, now: Millis) async throws -> [HoldRecord] {
        try await writer.write { db in
            let due =
                try HoldRecord
                .filter(HoldRecord.Columns.state == HoldRecord.State.held && HoldRecord.Columns.since < before)
                .fetchAll(db)
            for record in due {
                var given = record
                given.state = .givenUp
                given.updatedAt = now
                try given.update(db)
                _ = try Self.holdProblems(of: record.opportunityId).deleteAll(db)
            }
            return due
        }
    }

    /// The postings whose candidates wait for a posting-wide cause (their template inactive or unknown at Hubert),
    /// with the earliest trigger among them: when such a posting heals, its opportunities are read from there.
    func heldForPosting(reasons: [HoldReason]) async throws -> [PostingTemplate: Millis] {
        try await writer.read { db in
            var result: [PostingTemplate: Millis] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT posting_id, template_id, min(coalesce(trigger_ms, since_ms)) AS earliest FROM hold
                    WHERE state = 'held' AND reason IN (\(reasons.map { _ in "?" }.joined(separator: ", ")))
                    GROUP BY posting_id, template_id
                    """, arguments: StatementArguments(reasons.map(\.rawValue)))
            for row in rows {
                result[PostingTemplate(postingId: row["posting_id"], templateId: row["template_id"])] = row["earliest"]
            }
            return result
        }
    }

    /// Held candidates by reason (given up ones under `hold_given_up`).
    public func holdCounts() async throws -> [String: Int] {
        try await writer.read { db in try Self.holdCounts(db) }
    }

    /// Every posting's latest tagging period, with how many it has had.
    static func postingPeriods(_ db: Database) throws -> [StatusReport.PostingPeriod] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT p.posting_id, p.template_id, p.start_ms, p.end_ms,
                    (SELECT count(*) FROM tagging_period c WHERE c.posting_id = p.posting_id) AS n
                FROM tagging_period p
                WHERE p.id = (SELECT max(id) FROM tagging_period l WHERE l.posting_id = p.posting_id)
                ORDER BY p.posting_id
                """
        ).map { row in
            StatusReport.PostingPeriod(
                postingId: row["posting_id"], templateId: row["template_id"],
                periodStart: RFC3339.format(row["start_ms"]),
                periodEnd: (row["end_ms"] as Millis?).map(RFC3339.format), periods: row["n"])
        }
    }

    static func holdCounts(_ db: Database) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT CASE state WHEN 'given_up' THEN 'hold_given_up' ELSE reason END AS r, count(*) AS n
                FROM hold GROUP BY 1
                """)
        {
            result[row["r"]] = row["n"]
        }
        return result
    }
}
