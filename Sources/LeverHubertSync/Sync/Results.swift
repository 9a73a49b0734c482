import Foundation
import Logging

/// Results: what a completed Hubert interview writes back to Lever — grade tag, one note, the link, the auto-move —
/// each step through the ledger. A version of a result is recorded as due before its first step; a step that fails
/// leaves it due, so later passes try again whatever the Hubert checkpoint does, until it is written or given up.
extension SyncEngine {
    /// Failed passes a write-back needs, beside `sync.giveUpAfterDays`, before it is given up.
    static let attemptsBeforeGivingUp = 3

    /// Completed, expired and cancelled interviews updated since `since` (and not after `until`, for a backfill).
    /// `revive`: a result given up earlier is tried again (a backfill over its window is how an operator asks).
    func scanResults(
        since: Millis, until: Millis?, postingIds: Set<String> = [], revive: Bool = false,
        context: PassContext, effects: any Effects, collector: PassCollector
    ) async throws {
        try await hubert.forEachInterviewPage(updatedSince: since, statuses: ["completed", "expired", "cancelled"]) {
            page in
            try await stopAtDeadline(collector)
            var interviews: [HubertInterview] = []
            for item in page {
                switch item {
                case .value(let interview):
                    if let until, let updated = interview.updatedAt, updated > until { continue }
                    if !postingIds.isEmpty, !postingIds.contains(interview.externalReference?.postingId ?? "") {
                        continue
                    }
                    interviews.append(interview)
                case .failure(let id, let reason):
                    await collector.add(
                        Problem(
                            reason: .undecodableInterview,
                            message: "Hubert interview \(id ?? "without id") could not be read: \(reason)"),
                        failed: true)
                }
            }
            try await concurrentForEach(interviews, limit: config.concurrency) { interview in
                try await processInterview(
                    interview, revive: revive, context: context, effects: effects, collector: collector)
            }
            progress?(
                ProgressEvent(
                    stream: "hubert interviews", items: page.count, position: interviews.last?.updatedAt,
                    window: Planner.range(since, until ?? clock())))
        }
    }

    /// Results an earlier pass recorded as due (or began and did not confirm): fetched again and written back;
    /// given up after `sync.giveUpAfterDays` and reported.
    /// `skewed`: the clock was found out of step in this pass; nothing is given up on its word.
    func settleUnfinishedResults(
        mode: PassMode, skewed: Bool, context: PassContext, effects: any Effects,
        collector: PassCollector
    ) async throws {
        for due in try await store.unfinishedResults() {
            if await pastDeadline(collector) { break }
            // Given up only after the period and several failed passes: a clock that jumped ahead gives up nothing.
            if !skewed, clock() - due.firstDue > giveUpMs, due.attempts >= Self.attemptsBeforeGivingUp {
                try await effects.record { try await store.giveUpResult(due, now: clock()) }
                await collector.add(
                    Problem(
                        opportunityId: due.opportunityId, reason: .writeBackGivenUp,
                        message: "the Hubert result of interview \(due.interviewId) could not be written to "
                            + "opportunity \(due.opportunityId) for \(config.giveUpAfterDays) days and is given up"
                            + (due.lastError.map { " (last error: \($0))" } ?? "")
                            + "; a backfill over its window tries again"),
                    failed: true)
                continue
            }
            let interview: HubertInterview?
            do {
                interview = try await hubert.interview(id: due.interviewId)
            } catch let error as APIError {
                try await effects.record {
                    try await store.recordResultAttemptFailed(
                        interviewId: due.interviewId, error: "\(error)", now: clock())
                }
                await collector.add(
                    Problem(
                        opportunityId: due.opportunityId, reason: .writeBackFailed,
                        message: "could not read Hubert interview \(due.interviewId) again (\(error)); "
                            + Failing.describe(since: due.firstDue, now: clock(), tries: due.attempts + 1)
                            + "; tried next pass"),
                    failed: true)
                continue
            }
            guard let interview else {
                // Hubert no longer has it: nothing left to write.
                try await effects.record { try await store.giveUpResult(due, now: clock()) }
                continue
            }
            try await processInterview(
                interview, revive: false, context: context, effects: effects, collector: collector)
        }
    }

    /// Writes one completed interview's result back to Lever, each step once.
    func processInterview(
        _ interview: HubertInterview, revive: Bool, context: PassContext, effects: any Effects,
        collector: PassCollector
    ) async throws {
        guard let reference = interview.externalReference, reference.source == "lever" else { return }
        guard await collector.firstSightOfInterview(interview.id) else { return }
        let opportunityId = reference.opportunityId
        guard !opportunityId.trimmingCharacters(in: .whitespaces).isEmpty else {
            await collector.add(
                Problem(
                    postingId: reference.postingId, reason: .invalidReference,
                    message: "Hubert interview \(interview.id) names no Lever opportunity; nothing is written"),
                failed: true)
            return
        }
        guard !(await collector.isErased(opportunityId)) else { return }
        if interview.status == "completed", interview.result == nil {
            // A grade this version does not know: report it and leave it due, never record it as written.
            let grade = interview.unknownGrade ?? "(none)"
            try await effects.record {
                try await store.markResultDue(
                    interviewId: interview.id, opportunityId: opportunityId,
                    fingerprint: "unknown:\(grade)", now: clock())
                try await store.recordResultAttemptFailed(
                    interviewId: interview.id, error: "unknown grade \(grade)", now: clock())
            }
            await collector.add(
                Problem(
                    opportunityId: opportunityId, postingId: reference.postingId, reason: .unknownGrade,
                    message: "Hubert interview \(interview.id) of opportunity \(opportunityId) is completed "
                        + "with the grade \"\(grade)\", which this version does not know; it stays due"),
                failed: true)
            return
        }
        guard interview.isCompleted, let result = interview.result else {
            try await effects.record {
                try await store.recordInterviewStatus(interviewId: interview.id, status: interview.status, now: clock())
            }
            return
        }
        let fingerprint = result.fingerprint
        let applied = try await store.appliedFingerprint(interviewId: interview.id)
        if applied == fingerprint { return }
        let due = try await store.dueResult(interviewId: interview.id)
        if let due, due.state == .givenUp, due.fingerprint == fingerprint, !revive { return }

        let opportunity: LeverOpportunity?
        do {
            opportunity = try await lever.opportunity(id: opportunityId)
        } catch let error as APIError {
            // One opportunity Lever refuses or answers oddly for: its problem, kept due; the pass goes on.
            try await itemFailed(
                error, reading: "it", interviewId: interview.id, opportunityId: opportunityId,
                postingId: reference.postingId, fingerprint: fingerprint, effects: effects, collector: collector)
            return
        }
        guard let opportunity, !opportunity.isAnonymized else {
            // Deleted or anonymized in Lever: its result is skipped quietly and nothing of it stays in the store.
            try await erase(opportunityId, effects: effects, collector: collector)
            return
        }
        let invitation = try await store.invitation(opportunityId: opportunityId, templateId: interview.templateId)
        let steps = try await store.resultSteps(interviewId: interview.id, fingerprint: fingerprint)
        let marker = Planner.noteMarker(interviewId: interview.id, fingerprint: fingerprint)
        var noteWritten = steps[.note]?.done ?? false
        if !noteWritten, steps[.note] != nil || Planner.showsEarlierWriteBack(opportunity.candidacy, result: result) {
            // An earlier pass sent the note but never saw the answer, or the opportunity shows a write-back the
            // ledger does not know of (a restored backup): look for the marker before writing again.
            let notes: [LeverNote]
            do {
                notes = try await lever.notes(opportunityId: opportunityId)
            } catch let error as APIError {
                try await itemFailed(
                    error, reading: "its notes", interviewId: interview.id, opportunityId: opportunityId,
                    postingId: reference.postingId, fingerprint: fingerprint, effects: effects,
                    collector: collector)
                return
            }
            if notes.contains(where: { $0.texts.contains { $0.contains(marker) } }) {
                noteWritten = true
                try await effects.record {
                    try await store.recordStepDone(
                        interviewId: interview.id, fingerprint: fingerprint, step: .note,
                        opportunityId: opportunityId, marker: marker, now: clock())
                }
            }
        }
        let postingId = invitation?.postingId ?? reference.postingId ?? opportunity.postingId
        let state = Planner.ResultState(
            interviewId: interview.id, result: result, opportunity: opportunity.candidacy,
            stageAtInvitation: invitation?.stageAtInvitation,
            autoMoveStageId: context.autoMoveStage(result.grade, postingId: postingId), noteWritten: noteWritten,
            alreadyMoved: try await store.hasMoved(interviewId: interview.id))
        let actions = Planner.planResult(state)
        try await effects.writeBack(
            PlannedWriteBack(
                interview: interview, result: result, opportunityId: opportunityId, postingId: postingId,
                fingerprint: fingerprint, marker: marker, regrade: applied != nil, actions: actions, context: context),
            collector: collector)
    }

    /// A read about one result's opportunity failed: the result is kept due with the error, and the problem is
    /// reported (`opportunity_forbidden` for a 403, else `write_back_failed`); the pass goes on.
    private func itemFailed(
        _ error: APIError, reading what: String, interviewId: String, opportunityId: String,
        postingId: String?, fingerprint: String, effects: any Effects, collector: PassCollector
    ) async throws {
        let now = clock()
        var failing = Failing.describe(since: now, now: now, tries: 1)
        try await effects.record {
            let due = try await store.markResultDue(
                interviewId: interviewId, opportunityId: opportunityId, fingerprint: fingerprint,
                now: now)
            try await store.recordResultAttemptFailed(interviewId: interviewId, error: "\(error)", now: now)
            failing = Failing.describe(since: due.firstDue, now: now, tries: due.attempts + 1)
        }
        await collector.add(
            error.status == 403 && !error.noAnswer
                ? Self.forbidden(opportunityId, postingId: postingId, what: "reading \(what)", error)
                : Problem(
                    opportunityId: opportunityId, postingId: postingId, reason: .writeBackFailed,
                    message:
                        "reading \(what == "it" ? "opportunity \(opportunityId)" : "\(what) of opportunity \(opportunityId)") "
                        + "failed: \(error); \(failing); tried again next pass"),
            failed: true)
    }
}
