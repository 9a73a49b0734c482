import Foundation
import GRDB

/// The invitation ledger (`invitation`): the intent recorded before Hubert is asked, then what Hubert answered.
extension Store {
    /// The invitation of (opportunity, template), if any.
    public func invitation(opportunityId: String, templateId: String) async throws -> InvitationRecord? {
        try await writer.read { db in
            try InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId).fetchOne(db)
        }
    }

    /// Invitations whose outcome is not known yet (the process died or the answer was lost).
    public func pendingInvitations() async throws -> [InvitationRecord] {
        try await writer.read { db in
            try InvitationRecord
                .filter(InvitationRecord.Columns.state == InvitationRecord.State.pending)
                .order(InvitationRecord.Columns.createdAt)
                .fetchAll(db)
        }
    }

    /// Records the intent to invite, before the request is sent. Returns false when a record already exists.
    /// Of `record`, the ids, the stage and the application time are kept; the row starts `pending`, created now.
    @discardableResult
    public func recordInvitationIntent(_ record: InvitationRecord, idempotencyKey: String, now: Millis) async throws
        -> Bool
    {
        let intent = InvitationRecord(
            opportunityId: record.opportunityId, templateId: record.templateId, postingId: record.postingId,
            state: .pending, interviewId: nil, stageAtInvitation: record.stageAtInvitation, createdAt: now,
            appliedAt: record.appliedAt, idempotencyKey: idempotencyKey, updatedAt: now)
        return try await writer.write { db in
            try intent.insert(db, onConflict: .ignore)
            return db.changesCount > 0
        }
    }

    /// Records that Hubert has the invitation.
    /// `stageAtInvitation`: when given, replaces the stage recorded with the intent — for an interview Hubert already
    /// had (a restored or pruned ledger), the stage the candidate stood in when Hubert invited them, or nil when it
    /// cannot be known (then no auto-move is ever made for it).
    public func recordInvitationSent(
        opportunityId: String, templateId: String, interviewId: String, status: String,
        stageAtInvitation: String?? = .none, now: Millis
    ) async throws {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            let invitation = InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId)
            try invitation.updateAll(
                db, Columns.state.set(to: InvitationRecord.State.sent), Columns.interviewId.set(to: interviewId),
                Columns.interviewStatus.set(to: status), Columns.sentAt.set(to: Columns.sentAt ?? now),
                Columns.updatedAt.set(to: now))
            if case .some(let stage) = stageAtInvitation {
                try invitation.updateAll(db, Columns.stageAtInvitation.set(to: stage))
            }
        }
    }

    /// Records that Hubert refused the invitation for good (422, 404 …); it is not sent again.
    public func recordInvitationRefused(opportunityId: String, templateId: String, reason: String, now: Millis)
        async throws
    {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            _ = try InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId).updateAll(
                db, Columns.state.set(to: InvitationRecord.State.refused), Columns.refusal.set(to: reason),
                Columns.updatedAt.set(to: now))
        }
    }

    /// Closes an intent that was never sent and never can be (template forbidden or inactive, posting no longer
    /// tagged, opportunity archived, no e-mail …): it is kept as refused with the reason, and not tried again.
    public func closeInvitationIntent(opportunityId: String, templateId: String, reason: String, now: Millis)
        async throws
    {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            _ = try InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId)
                .filter(Columns.state == InvitationRecord.State.pending)
                .updateAll(
                    db, Columns.state.set(to: InvitationRecord.State.refused), Columns.refusal.set(to: reason),
                    Columns.updatedAt.set(to: now))
        }
    }

    /// Records a failed try to send or settle a pending invitation (no answer, an unreadable one, a read-back that
    /// failed): one of the tries a give-up needs beside `sync.giveUpAfterDays`. Returns the row.
    @discardableResult
    public func recordInvitationAttemptFailed(opportunityId: String, templateId: String, now: Millis) async throws
        -> InvitationRecord?
    {
        typealias Columns = InvitationRecord.Columns
        return try await writer.write { db in
            let row = InvitationRecord.filter(opportunityId: opportunityId, templateId: templateId)
            _ = try row.filter(Columns.state == InvitationRecord.State.pending).updateAll(
                db, Columns.attempts.set(to: Columns.attempts + 1), Columns.lastAttemptAt.set(to: now))
            return try row.fetchOne(db)
        }
    }

    /// Notes the interview's latest status (for `status`).
    public func recordInterviewStatus(interviewId: String, status: String, now: Millis) async throws {
        typealias Columns = InvitationRecord.Columns
        try await writer.write { db in
            _ = try InvitationRecord.filter(Columns.interviewId == interviewId).updateAll(
                db, Columns.interviewStatus.set(to: status), Columns.updatedAt.set(to: now))
        }
    }

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
}
