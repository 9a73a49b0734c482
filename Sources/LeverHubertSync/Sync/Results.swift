import Foundation
import Logging

/// Results: what a completed Hubert interview writes back to Lever — grade tag, one note, the link, the auto-move —
/// each step through the ledger. A version of a result is recorded as due before its first step; a step that fails
/// leaves it due, so later passes try again whatever the Hubert checkpoint does, until it is written or given up.
extension SyncEngine {
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
            if Planner.givesUp(
                since: due.firstDue, attempts: due.attempts, now: clock(), giveUpMs: giveUpMs, skewed: skewed)
            {
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

    /// Writes one completed interview's result back to Lever, each step once: observes what the ledger holds, asks
    /// `Planner.result`, reads what it asks for, and hands the plan to the effects.
    func processInterview(
        _ interview: HubertInterview, revive: Bool, context: PassContext, effects: any Effects,
        collector: PassCollector
    ) async throws {
        guard let reference = interview.externalReference, reference.source == "lever" else { return }
        guard await collector.firstSightOfInterview(interview.id) else { return }
        let opportunityId = reference.opportunityId
        guard !(await collector.isErased(opportunityId)) else { return }
        var observed = ObservedResult(interview: interview)
        observed.revive = revive
        observed.autoMoves = context.autoMoves
        if let fingerprint = observed.fingerprint {
            observed.appliedFingerprint = try await store.appliedFingerprint(interviewId: interview.id)
            // A version written already (the common case: the lookback lists it again) needs no further read.
            if observed.appliedFingerprint != fingerprint,
                let due = try await store.dueResult(interviewId: interview.id), due.state == .givenUp
            {
                observed.givenUpFingerprint = due.fingerprint
            }
        }
        while true {
            switch Planner.result(observed) {
            case .nothing:
                return
            case .recordStatus:
                try await effects.record {
                    try await store.recordInterviewStatus(
                        interviewId: interview.id, status: interview.status, now: clock())
                }
                return
            case .report(let problem):
                await collector.add(problem, failed: true)
                return
            case .keepDue(let problem, let fingerprint, let error):
                try await effects.record {
                    try await store.markResultDue(
                        interviewId: interview.id, opportunityId: opportunityId, fingerprint: fingerprint, now: clock())
                    try await store.recordResultAttemptFailed(interviewId: interview.id, error: error, now: clock())
                }
                await collector.add(problem, failed: true)
                return
            case .readCandidacy:
                // The rest of the ledger first (a version not written yet is the rare case: read only for it).
                if let fingerprint = observed.fingerprint {
                    let invitation = try await store.invitation(
                        opportunityId: opportunityId, templateId: interview.templateId)
                    observed.invitedPostingId = invitation?.postingId
                    observed.stageAtInvitation = invitation?.stageAtInvitation
                    observed.noteStepDone = try await store.resultSteps(
                        interviewId: interview.id, fingerprint: fingerprint)[.note]?.done
                    observed.alreadyMoved = try await store.hasMoved(interviewId: interview.id)
                }
                guard
                    let read = try await readItem(
                        "it", of: observed, effects: effects, collector: collector,
                        { try await lever.opportunity(id: opportunityId) })
                else { return }
                observed.candidacy = .some(read?.candidacy)
            case .forget:
                // Deleted or anonymized in Lever: its result is skipped quietly and nothing of it stays in the store.
                try await erase(opportunityId, effects: effects, collector: collector)
                return
            case .readNotes(let marker):
                guard
                    let notes = try await readItem(
                        "its notes", of: observed, effects: effects, collector: collector,
                        { try await lever.notes(opportunityId: opportunityId) })
                else { return }
                let found = notes.contains(where: { $0.texts.contains { $0.contains(marker) } })
                observed.markerFound = found
                if found, let fingerprint = observed.fingerprint {
                    try await effects.record {
                        try await store.recordStepDone(
                            interviewId: interview.id, fingerprint: fingerprint, step: .note,
                            opportunityId: opportunityId, marker: marker, now: clock())
                    }
                }
            case .writeBack(let actions, let postingId, let regrade):
                guard let result = interview.result, let fingerprint = observed.fingerprint else {
                    assertionFailure("the planner writes back only a completed result")
                    return
                }
                try await effects.writeBack(
                    PlannedWriteBack(
                        interview: interview, result: result, opportunityId: opportunityId, postingId: postingId,
                        fingerprint: fingerprint,
                        marker: Planner.noteMarker(interviewId: interview.id, fingerprint: fingerprint),
                        regrade: regrade, actions: actions, context: context),
                    collector: collector)
                return
            }
        }
    }

    /// Reads one thing about one result's opportunity; when Lever refuses or fails, the result is kept due with the
    /// error, the problem is reported (`itemFailed`), and nil is returned: the pass goes on.
    private func readItem<T: Sendable>(
        _ what: String, of observed: ObservedResult, effects: any Effects, collector: PassCollector,
        _ read: () async throws -> T
    ) async throws -> T? {
        do {
            return try await read()
        } catch let error as APIError {
            let reference = observed.interview.externalReference
            try await itemFailed(
                error, reading: what, interviewId: observed.interview.id, opportunityId: reference?.opportunityId ?? "",
                postingId: reference?.postingId, fingerprint: observed.fingerprint ?? "", effects: effects,
                collector: collector)
            return nil
        }
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
            Self.itemProblem(error, opportunityId, postingId: postingId, doing: "reading \(what)") {
                Problem(
                    opportunityId: opportunityId, postingId: postingId, reason: .writeBackFailed,
                    message:
                        "reading \(what == "it" ? "opportunity \(opportunityId)" : "\(what) of opportunity \(opportunityId)") "
                        + "failed: \(error); \(failing); tried again next pass")
            },
            failed: true)
    }
}
