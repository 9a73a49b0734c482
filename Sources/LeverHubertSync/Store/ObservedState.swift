import Foundation
import GRDB

/// What the last postings read said of one posting (`posting_snapshot`).
public struct PostingSnapshotEntry: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "posting_snapshot"

    public enum Verdict: String, Sendable, Codable, Equatable {
        case untagged, template, invalid
    }

    public var postingId: String
    public var verdict: Verdict
    public var templateId: String?
    /// For an invalid tag: the problem's reason and message.
    public var reason: String?
    public var message: String?
    /// The posting's title (a job's name).
    public var name: String?
    /// The posting's `updatedAt` as Lever gave it.
    public var updatedAt: Millis?
    /// When the pass that read it started.
    public var readAt: Millis

    enum CodingKeys: String, CodingKey {
        case postingId = "posting_id"
        case verdict
        case templateId = "template_id"
        case reason, message, name
        case updatedAt = "updated_ms"
        case readAt = "read_ms"
    }

    public enum Columns {
        public static let postingId = Column(CodingKeys.postingId)
    }

    public init(
        postingId: String, verdict: PostingTagVerdict, name: String?, updatedAt: Millis?, readAt: Millis
    ) {
        self.postingId = postingId
        switch verdict {
        case .none: self.verdict = .untagged
        case .template(let id):
            self.verdict = .template
            templateId = id
        case .invalid(let reason, let message):
            self.verdict = .invalid
            self.reason = reason.rawValue
            self.message = message
        }
        self.name = name
        self.updatedAt = updatedAt
        self.readAt = readAt
    }

    /// The verdict as the planner spells it.
    public var tagVerdict: PostingTagVerdict {
        switch verdict {
        case .untagged: return .none
        case .template: return templateId.map { .template($0) } ?? .none
        case .invalid:
            return .invalid(
                reason: reason.flatMap(ProblemReason.init(rawValue:)) ?? .invalidHubertTag,
                message: message ?? "malformed Hubert tag")
        }
    }
}

/// Keys of the `meta` table the pass keeps its own schedule in.
enum MetaKey: String {
    /// When the last full postings read started (ms).
    case postingsFullReadAt = "postings.full_read_ms"
    /// When the last postings read, full or changed-since, started (ms).
    case postingsReadAt = "postings.read_ms"
    /// When the last read of Lever's deleted opportunities started (ms).
    case deletedReadAt = "opportunities.deleted_read_ms"
}

/// The observe phase's reads and writes that go by page, not by item: one query per page of opportunities.
extension Store {
    // MARK: Meta

    func meta(_ key: MetaKey) async throws -> Millis? {
        try await writer.read { db in try MetaRecord.fetchOne(db, key: key.rawValue).flatMap { Millis($0.value) } }
    }

    func setMeta(_ values: [MetaKey: Millis]) async throws {
        try await writer.write { db in
            for (key, value) in values { try MetaRecord(key: key.rawValue, value: String(value)).save(db) }
        }
    }

    // MARK: Postings

    /// Every posting the last reads found, by id.
    public func postingSnapshot() async throws -> [String: PostingSnapshotEntry] {
        try await writer.read { db in
            var result: [String: PostingSnapshotEntry] = [:]
            for entry in try PostingSnapshotEntry.fetchAll(db) { result[entry.postingId] = entry }
            return result
        }
    }

    /// Records a postings read: a full read replaces the snapshot (except the postings that could not be read this
    /// time, which keep what an earlier read said); a changed-since read updates the postings it returned.
    func recordPostingRead(_ entries: [PostingSnapshotEntry], full: Bool, keep: Set<String>, startedAt: Millis)
        async throws
    {
        try await writer.write { db in
            if full {
                let ids = Set(entries.map(\.postingId)).union(keep)
                let stored = try String.fetchAll(
                    db, PostingSnapshotEntry.select(PostingSnapshotEntry.Columns.postingId))
                _ = try PostingSnapshotEntry.deleteAll(db, keys: stored.filter { !ids.contains($0) })
            }
            for entry in entries { try entry.save(db) }
            var keys: [MetaKey] = [.postingsReadAt]
            if full { keys.append(.postingsFullReadAt) }
            for key in keys { try MetaRecord(key: key.rawValue, value: String(startedAt)).save(db) }
        }
    }

    // MARK: Opportunities, a page at a time

    /// The (opportunity, template) pairs the ledger holds an invitation for, in any state, among these opportunities:
    /// one query for a page of opportunities.
    func invitedPairs(opportunityIds: [String]) async throws -> Set<InvitationKey> {
        guard !opportunityIds.isEmpty else { return [] }
        let ids = Array(Set(opportunityIds))
        return try await writer.read { db in
            let rows = try InvitationRecord.filter(ids.contains(InvitationRecord.Columns.opportunityId)).fetchAll(db)
            return Set(rows.map { InvitationKey(opportunityId: $0.opportunityId, templateId: $0.templateId) })
        }
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
