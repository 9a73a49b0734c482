import Foundation

/// Where each grade moves a candidacy: the configured stage per grade, a posting's own stages first.
public struct AutoMoves: Sendable, Equatable {
    public var byGrade: [HubertGrade: String]
    public var byPosting: [String: [HubertGrade: String]]
    public init(byGrade: [HubertGrade: String] = [:], byPosting: [String: [HubertGrade: String]] = [:]) {
        self.byGrade = byGrade
        self.byPosting = byPosting
    }

    /// The stage a grade moves to on a posting (the posting's override first); nil for no move.
    public func stage(_ grade: HubertGrade, postingId: String?) -> String? {
        if let postingId, let stage = byPosting[postingId]?[grade] { return stage }
        return byGrade[grade]
    }
}

/// Everything a pass has observed about one Hubert interview, gathered step by step. `Planner.result` says what it
/// still needs to see (the candidacy, then perhaps its notes) before it decides, so nothing is read that the decision
/// does not need; the engine reads it, fills it in and asks again.
public struct ObservedResult: Sendable, Equatable {
    public var interview: HubertInterview
    /// The fingerprint of the version last written back in full (the ledger's `applied_result`).
    public var appliedFingerprint: String?
    /// The fingerprint of a version the ledger gave up on.
    public var givenUpFingerprint: String?
    /// A backfill over the result's window: a version given up earlier is tried again.
    public var revive = false
    /// The candidacy as the ATS shows it now: nil until read, `.some(nil)` once the ATS answered that it has none.
    public var candidacy: Candidacy??
    /// The posting the sync invited the candidacy for, and the stage it stood in then (nil: the sync did not invite).
    public var invitedPostingId: String?
    public var stageAtInvitation: String?
    /// The ledger's note step for this version: nil (never begun), false (sent, not confirmed), true (confirmed).
    public var noteStepDone: Bool?
    /// Whether the sync's marker is among the candidacy's notes: nil until they are read.
    public var markerFound: Bool?
    /// Whether the sync already moved the candidacy for this interview (any version).
    public var alreadyMoved = false
    public var autoMoves = AutoMoves()

    public init(interview: HubertInterview) { self.interview = interview }

    /// The result version's identity in the ledger.
    public var fingerprint: String? { interview.result?.fingerprint }
    /// The posting the result belongs to: where the sync invited, else Hubert's reference, else the candidacy's.
    public var postingId: String? {
        invitedPostingId ?? interview.externalReference?.postingId ?? candidacy??.postingId
    }
}

/// What a pass does about one Hubert interview: the whole decision, in the order the rules ask.
public enum ResultPlan: Sendable, Equatable {
    /// Nothing: not the sync's interview, this version is written already, or it was given up.
    case nothing
    /// Not finished (invited, expired, cancelled): only its status is recorded.
    case recordStatus
    /// There is nowhere to write it: reported, nothing kept.
    case report(Problem)
    /// It cannot be written as it is yet: reported, and kept due under `fingerprint` with a failed attempt (`error`).
    case keepDue(Problem, fingerprint: String, error: String)
    /// Read the candidacy before deciding.
    case readCandidacy
    /// The ATS no longer has the candidacy, or it is anonymized: nothing of it stays.
    case forget(opportunityId: String)
    /// Read the candidacy's notes before deciding: a note was sent and not confirmed, or the candidacy shows a
    /// write-back the ledger does not know of (a restored backup).
    case readNotes(marker: String)
    /// Write these steps back in order (none: the version is only recorded as written). `regrade`: an earlier version
    /// was written.
    case writeBack([Action], postingId: String?, regrade: Bool)
}

extension Planner {
    /// The one decision about a Hubert interview. Called again with more observed each time it asks to read.
    public static func result(_ observed: ObservedResult) -> ResultPlan {
        let interview = observed.interview
        guard let reference = interview.externalReference, reference.source == "lever" else { return .nothing }
        let opportunityId = reference.opportunityId
        guard !opportunityId.trimmingCharacters(in: .whitespaces).isEmpty else {
            return .report(
                Problem(
                    postingId: reference.postingId, reason: .invalidReference,
                    message: "Hubert interview \(interview.id) names no Lever opportunity; nothing is written"))
        }
        if interview.status == "completed", interview.result == nil {
            // A grade this version does not know: reported and kept due, never recorded as written.
            let grade = interview.unknownGrade ?? "(none)"
            return .keepDue(
                Problem(
                    opportunityId: opportunityId, postingId: reference.postingId, reason: .unknownGrade,
                    message: "Hubert interview \(interview.id) of opportunity \(opportunityId) is completed "
                        + "with the grade \"\(grade)\", which this version does not know; it stays due"),
                fingerprint: "unknown:\(grade)", error: "unknown grade \(grade)")
        }
        guard interview.isCompleted, let result = interview.result else { return .recordStatus }
        let fingerprint = result.fingerprint
        if observed.appliedFingerprint == fingerprint { return .nothing }
        if observed.givenUpFingerprint == fingerprint, !observed.revive { return .nothing }
        guard let read = observed.candidacy else { return .readCandidacy }
        guard let candidacy = read, !candidacy.isAnonymized else { return .forget(opportunityId: opportunityId) }
        var noteWritten = observed.noteStepDone ?? false
        if !noteWritten {
            if let found = observed.markerFound {
                noteWritten = found
            } else if observed.noteStepDone != nil || showsEarlierWriteBack(candidacy, result: result) {
                return .readNotes(marker: noteMarker(interviewId: interview.id, fingerprint: fingerprint))
            }
        }
        let postingId = observed.postingId
        let actions = planResult(
            ResultState(
                interviewId: interview.id, result: result, opportunity: candidacy,
                stageAtInvitation: observed.stageAtInvitation,
                autoMoveStageId: observed.autoMoves.stage(result.grade, postingId: postingId),
                noteWritten: noteWritten, alreadyMoved: observed.alreadyMoved))
        return .writeBack(actions, postingId: postingId, regrade: observed.appliedFingerprint != nil)
    }

    /// Failed passes an unfinished write-back or invitation needs, beside `sync.giveUpAfterDays`, before it is given up.
    public static let attemptsBeforeGivingUp = 3

    /// Whether an unfinished write-back or invitation is given up: only after `sync.giveUpAfterDays` since it began and
    /// several failed passes, and never on the word of a clock found out of step in this pass (a clock that jumped
    /// ahead gives up nothing).
    public static func givesUp(since: Millis, attempts: Int, now: Millis, giveUpMs: Millis, skewed: Bool) -> Bool {
        !skewed && now - since > giveUpMs && attempts >= attemptsBeforeGivingUp
    }
}
