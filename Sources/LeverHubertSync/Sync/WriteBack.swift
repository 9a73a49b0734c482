import Foundation

/// Apply, results: the live effect of one result's write-back (`LiveEffects`). The result version is recorded as due
/// before its first step; each step goes to Lever in order, the note through its own intent and marker; the version
/// is recorded as written only when every step is done. A step that fails leaves it due for the next pass.
extension SyncEngine {
    func applyWriteBack(_ planned: PlannedWriteBack, collector: PassCollector) async throws {
        let (interview, result, actions) = (planned.interview, planned.result, planned.actions)
        let (opportunityId, postingId, fingerprint) = (planned.opportunityId, planned.postingId, planned.fingerprint)
        let due = try await store.markResultDue(
            interviewId: interview.id, opportunityId: opportunityId, fingerprint: fingerprint,
            now: clock())
        let failing = { Failing.describe(since: due.firstDue, now: clock(), tries: due.attempts + 1) }
        var logger = self.logger
        logger[metadataKey: "lever.opportunity.id"] = "\(opportunityId)"
        logger[metadataKey: "hubert.interview.id"] = "\(interview.id)"
        do {
            try await apply(
                actions, interview: interview, result: result, fingerprint: fingerprint, marker: planned.marker,
                regrade: planned.regrade, context: planned.context, collector: collector)
            try await store.recordResultApplied(
                interviewId: interview.id, opportunityId: opportunityId, fingerprint: fingerprint,
                grade: result.grade, now: clock())
            KillPoint.resultRecorded.reached()
            try await store.clearOpportunityProblems(opportunityId: opportunityId)
            if !actions.isEmpty {
                await collector.resultApplied()
                logger.info(
                    "result written back",
                    metadata: ["grade": "\(result.grade.rawValue)", "actions": "\(actions.count)"])
            }
        } catch let error as APIError {
            try await store.recordResultAttemptFailed(interviewId: interview.id, error: "\(error)", now: clock())
            await collector.add(
                Self.itemProblem(error, opportunityId, postingId: postingId, doing: "writing the Hubert result") {
                    Problem(
                        opportunityId: opportunityId, postingId: postingId, reason: .writeBackFailed,
                        message: "writing the Hubert result to opportunity \(opportunityId) failed: \(error); "
                            + "\(failing()); tried again next pass")
                },
                failed: true)
        } catch let error as MaybeAppliedError {
            try await store.recordResultAttemptFailed(interviewId: interview.id, error: "\(error)", now: clock())
            await collector.add(
                Problem(
                    opportunityId: opportunityId, postingId: postingId, reason: .noteUnconfirmed,
                    message: "note on opportunity \(opportunityId) not confirmed (\(error.reason)); \(failing()); "
                        + "checked next pass"),
                failed: true)
        }
    }

    /// Applies a result's steps in order (stale tags off, grade tag, note, link, move). The first step that fails
    /// stops the rest; they stay due with it.
    private func apply(
        _ actions: [Action], interview: HubertInterview, result: HubertResult, fingerprint: String,
        marker: String, regrade: Bool, context: PassContext, collector: PassCollector
    ) async throws {
        let opportunityId = interview.externalReference?.opportunityId ?? ""
        let removals = actions.compactMap { if case .removeTag(_, let tag) = $0 { tag } else { nil } }
        if !removals.isEmpty {
            try await lever.removeTags(opportunityId: opportunityId, tags: removals, performAs: context.performAs)
            for action in actions where action.type == .removeTag { await collector.add(action) }
        }
        for action in actions {
            switch action {
            case .removeTag, .invite:
                continue
            case .addTag(_, let tag):
                try await lever.addTags(opportunityId: opportunityId, tags: [tag], performAs: context.performAs)
                KillPoint.tagsWritten.reached()
            case .addNote:
                try await store.recordStepIntent(
                    ResultStepRecord(
                        interviewId: interview.id, fingerprint: fingerprint, step: .note,
                        opportunityId: opportunityId, done: false, marker: marker),
                    now: clock())
                KillPoint.noteIntentRecorded.reached()
                let text = Planner.noteText(result, interviewId: interview.id, regrade: regrade)
                let noteId: String?
                do {
                    noteId = try await lever.addNote(
                        opportunityId: opportunityId, text: text, performAs: context.performAs)
                } catch let error as MaybeAppliedError {
                    // The answer was lost: read the notes back now; only a note with the marker counts as written.
                    let notes = try await lever.notes(opportunityId: opportunityId)
                    guard let found = notes.first(where: { $0.texts.contains { $0.contains(marker) } }) else {
                        throw error
                    }
                    noteId = found.id
                }
                KillPoint.noteAnswered.reached()
                try await store.recordStepDone(
                    interviewId: interview.id, fingerprint: fingerprint, step: .note,
                    opportunityId: opportunityId, marker: marker, noteId: noteId, now: clock())
            case .addLink(_, let url):
                try await lever.addLinks(opportunityId: opportunityId, links: [url], performAs: context.performAs)
                KillPoint.linkWritten.reached()
            case .moveStage(_, let stageId):
                try await lever.moveStage(opportunityId: opportunityId, stageId: stageId, performAs: context.performAs)
                KillPoint.moveAnswered.reached()
                try await store.recordStepDone(
                    interviewId: interview.id, fingerprint: fingerprint, step: .move,
                    opportunityId: opportunityId, now: clock())
            }
            await collector.add(action)
        }
    }
}
