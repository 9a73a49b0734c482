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

/// What the last postings read found, and recording a new one.
extension Store {
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

}
