import Foundation
import GRDB

@testable import LeverHubertSync

/// Reads and writes only the tests need (the product never calls them).
extension Store {
    /// When each (posting, template) pair was first seen.
    func postingTags() async throws -> [PostingTemplate: Millis] {
        try await writer.read { db in
            var result: [PostingTemplate: Millis] = [:]
            for tag in try PostingTagRecord.fetchAll(db) { result[tag.pair] = tag.firstSeen }
            return result
        }
    }

    /// Every checkpoint.
    func checkpoints() async throws -> [String: Millis] {
        try await writer.read { db in
            var result: [String: Millis] = [:]
            for checkpoint in try CheckpointRecord.fetchAll(db) { result[checkpoint.stream] = checkpoint.at }
            return result
        }
    }

    /// Records that an opportunity applied to (or entered New applicant on) a tagged posting, as the pass saw it.
    func recordApplicant(
        opportunityId: String, postingId: String, templateId: String, appliedAt: Millis?,
        now: Millis
    ) async throws {
        try await writer.write { db in
            try ApplicantRecord(
                opportunityId: opportunityId, templateId: templateId, postingId: postingId, appliedAt: appliedAt,
                seenAt: now
            )
            .insert(db, onConflict: .ignore)
        }
    }

}
