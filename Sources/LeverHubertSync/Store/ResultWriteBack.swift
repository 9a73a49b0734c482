import Foundation
import GRDB

/// The write-back ledger of results (`result_step`, `applied_result`): each step's intent and confirmation, and
/// the version last written back in full.
extension Store {
    /// The fingerprint of the result version last written back in full.
    public func appliedFingerprint(interviewId: String) async throws -> String? {
        try await writer.read { db in try AppliedResultRecord.fetchOne(db, key: interviewId)?.fingerprint }
    }

    /// The recorded steps of one result version.
    public func resultSteps(interviewId: String, fingerprint: String) async throws -> [ResultStepRecord.Step:
        ResultStepRecord]
    {
        try await writer.read { db in
            let steps =
                try ResultStepRecord
                .filter(ResultStepRecord.Columns.interviewId == interviewId)
                .filter(ResultStepRecord.Columns.fingerprint == fingerprint)
                .fetchAll(db)
            return Dictionary(steps.map { ($0.step, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Whether any version of this interview's result was already moved by the sync.
    public func hasMoved(interviewId: String) async throws -> Bool {
        typealias Columns = ResultStepRecord.Columns
        return try await writer.read { db in
            try
                !ResultStepRecord
                .filter(Columns.interviewId == interviewId)
                .filter(Columns.step == ResultStepRecord.Step.move && Columns.state == ResultStepRecord.State.done)
                .isEmpty(db)
        }
    }

    /// Records the intent of a step before it is applied (a step already recorded is left as it is). Of `step`, the
    /// ids and the marker are kept; the row starts `pending`, changed now.
    public func recordStepIntent(_ step: ResultStepRecord, now: Millis) async throws {
        let intent = ResultStepRecord(
            interviewId: step.interviewId, fingerprint: step.fingerprint, step: step.step,
            opportunityId: step.opportunityId, done: false, marker: step.marker, updatedAt: now)
        try await writer.write { db in try intent.insert(db, onConflict: .ignore) }
    }

    /// Records that a step is applied.
    public func recordStepDone(
        interviewId: String, fingerprint: String, step: ResultStepRecord.Step, opportunityId: String,
        marker: String? = nil, noteId: String? = nil, now: Millis
    ) async throws {
        let done = ResultStepRecord(
            interviewId: interviewId, fingerprint: fingerprint, step: step, opportunityId: opportunityId, done: true,
            marker: marker, noteId: noteId, updatedAt: now)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO result_step (interview_id, fingerprint, step, opportunity_id, state, marker, note_id, updated_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (interview_id, fingerprint, step) DO UPDATE SET state = excluded.state,
                        note_id = coalesce(excluded.note_id, note_id), updated_ms = excluded.updated_ms
                    """,
                arguments: [
                    done.interviewId, done.fingerprint, done.step, done.opportunityId, done.state, done.marker,
                    done.noteId, done.updatedAt,
                ])
        }
    }

    /// Records that a result version is fully written back.
    public func recordResultApplied(
        interviewId: String, opportunityId: String, fingerprint: String, grade: HubertGrade, now: Millis
    ) async throws {
        try await writer.write { db in
            // A row of the interview keeps its opportunity; the version, grade and time are replaced.
            try AppliedResultRecord(
                interviewId: interviewId, opportunityId: opportunityId, fingerprint: fingerprint, grade: grade,
                appliedAt: now
            ).upsert(db)
            try InvitationRecord.filter(InvitationRecord.Columns.interviewId == interviewId).updateAll(
                db, InvitationRecord.Columns.interviewStatus.set(to: "completed"),
                InvitationRecord.Columns.updatedAt.set(to: now))
            // Every step of every version is settled now: nothing of this interview is due any more.
            try ResultStepRecord
                .filter(ResultStepRecord.Columns.interviewId == interviewId)
                .filter(ResultStepRecord.Columns.state == ResultStepRecord.State.pending)
                .updateAll(
                    db, ResultStepRecord.Columns.state.set(to: ResultStepRecord.State.done),
                    ResultStepRecord.Columns.updatedAt.set(to: now))
            try DueResult.deleteOne(db, key: interviewId)
        }
    }
}
