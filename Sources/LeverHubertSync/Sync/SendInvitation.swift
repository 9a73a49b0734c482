import Foundation

/// Apply, invitations: the live effect of one invitation (`LiveEffects`), through the ledger — intent recorded, the
/// request with its deterministic Idempotency-Key, the outcome recorded — once per (opportunity, template) ever.
extension SyncEngine {
    /// The live effect of an invitation: intent, request, outcome (`LiveEffects`).
    /// `keyOverride`: the key of a corrected candidate whose first key Hubert kept for a refused body.
    func sendInvitation(_ planned: PlannedInvitation, collector: PassCollector, keyOverride: String? = nil)
        async throws
    {
        let (opportunity, posting, candidate) = (planned.opportunity, planned.posting, planned.candidate)
        let action = planned.action
        let reference = HubertExternalReference(opportunityId: opportunity.id, postingId: posting.postingId)
        let key =
            keyOverride ?? HubertClient.idempotencyKey(opportunityId: opportunity.id, templateId: posting.templateId)
        if !planned.intentRecorded {
            guard try await recordIntent(opportunity, posting: posting) else { return }
            KillPoint.invitationIntentRecorded.reached()
        }
        do {
            let (interview, created) = try await hubert.invite(
                templateId: posting.templateId, candidate: candidate,
                reference: reference, idempotencyKey: key)
            KillPoint.invitationAnswered.reached()
            // A 200 is an interview Hubert already had under the key (a restored ledger): no e-mail went out now, and
            // the stage the candidate stood in when it did is taken from the history, not from today's stage.
            try await store.recordInvitationSent(
                opportunityId: opportunity.id, templateId: posting.templateId, interviewId: interview.id,
                status: interview.status,
                stageAtInvitation: created
                    ? .none : .some(Planner.stageAt(opportunity.candidacy, time: interview.invitedAt)),
                now: clock())
            // A 200 for an interview Hubert made moments ago is this pass's own invitation whose first answer was
            // lost (the retry found it under the key): counted. One made long before is an earlier pass's (a
            // restored ledger): no e-mail went out now, so it is not.
            let earlier = !created && (interview.invitedAt.map { $0 < clock() - Self.replayHorizonMs } ?? false)
            if !earlier {
                await collector.add(action)
            } else {
                logger.info(
                    "already invited: Hubert answered with the first interview",
                    metadata: [
                        "lever.opportunity.id": "\(opportunity.id)", "hubert.interview.id": "\(interview.id)",
                    ])
            }
            try await store.releaseHold(opportunityId: opportunity.id, templateId: posting.templateId)
            logger.info(
                "invited",
                metadata: ["lever.opportunity.id": "\(opportunity.id)", "hubert.interview.id": "\(interview.id)"])
        } catch let error as APIError where error.noAnswer {
            // A 5xx, a timeout or an unreadable answer after every attempt: the invitation may or may not exist. The
            // intent stays pending (this one candidate's problem, with how long it has failed); the next pass reads
            // back first and sends again under the same key. Every other candidate is served.
            try await invitationTryFailed(
                opportunity.id, posting: posting,
                "Hubert gave no usable answer to the invitation of opportunity \(opportunity.id) on posting "
                    + "\(posting.postingId) (\(error))", collector: collector)
        } catch let error as APIError {
            if error.status == 409 {
                // Same key, another body (the candidate's data changed): the first interview stands.
                let found: HubertInterview?
                do {
                    found = try await findInterview(opportunityId: opportunity.id, templateId: posting.templateId)
                } catch let lookup as APIError {
                    try await invitationTryFailed(
                        opportunity.id, posting: posting,
                        "invitation for opportunity \(opportunity.id) answered 409 and could not be read back (\(lookup))",
                        collector: collector)
                    return
                }
                if let found {
                    try await recordFound(found, opportunity: opportunity, posting: posting)
                    return
                }
                if keyOverride == nil {
                    // No interview exists, yet Hubert kept the key for another body: a refused one (a held
                    // candidate since corrected). The corrected candidate goes under a key derived from its own body,
                    // so that a repeat of it is still deduplicated.
                    var again = planned
                    again.intentRecorded = true
                    return try await sendInvitation(
                        again, collector: collector,
                        keyOverride: try HubertClient.idempotencyKey(
                            opportunityId: opportunity.id, templateId: posting.templateId, candidate: candidate))
                }
            }
            if let hold = HoldReason(hubertRefusal: error.code, status: error.status) {
                // Refused for a cause a later edit can change (nothing is kept under the key): held, not closed.
                try await store.holdRefusedInvitation(
                    opportunityId: opportunity.id, templateId: posting.templateId, postingId: posting.postingId,
                    reason: hold.rawValue, trigger: planned.trigger ?? opportunity.appliedAt,
                    opportunityUpdatedAt: opportunity.updatedAt, now: clock())
                // Hubert's word on the template stands for the cache too: until it changes, nobody else on it is
                // sent and refused one by one.
                switch hold {
                case .templateInactive:
                    try await store.cacheTemplate(
                        posting.templateId, status: TemplateStatus.inactive("inactive").stored, threshold: nil,
                        now: clock())
                case .templateNotFound:
                    try await store.cacheTemplate(
                        posting.templateId, status: TemplateStatus.missing.stored, threshold: nil, now: clock())
                default: break
                }
                await collector.add(
                    Problem.held(
                        opportunity.candidacy, postingId: posting.postingId, reason: hold, detail: "Hubert: \(error)"))
                return
            }
            if error.status == 403 {
                // Per template (docs/hubert-api.md): remembered, so no one else on it is sent and refused one by one.
                await collector.forbid(template: posting.templateId)
                try await store.cacheTemplate(
                    posting.templateId, status: TemplateStatus.forbidden.stored, threshold: nil,
                    now: clock())
            }
            let reason =
                error.status == 403 ? ProblemReason.templateForbidden.rawValue : error.code ?? "hubert_\(error.status)"
            try await store.recordInvitationRefused(
                opportunityId: opportunity.id, templateId: posting.templateId,
                reason: reason, now: clock())
            await collector.add(
                Problem(
                    opportunityId: opportunity.id, postingId: posting.postingId, reason: reason,
                    message: "Hubert refused the invitation for opportunity \(opportunity.id) on posting "
                        + "\(posting.postingId) (template \(posting.templateId)): \(error)"),
                failed: true)
        } catch let error as MaybeAppliedError {
            try await invitationTryFailed(
                opportunity.id, posting: posting,
                "invitation for opportunity \(opportunity.id) not confirmed (\(error.reason))", collector: collector)
        }
    }

    /// A try to send an invitation got no answer: counted on its intent (a give-up needs several such tries beside
    /// the horizon) and reported with how long it has failed; the intent stays pending for the next pass.
    private func invitationTryFailed(
        _ opportunityId: String, posting: TaggedPosting, _ why: String, collector: PassCollector
    ) async throws {
        let now = clock()
        let row = try await store.recordInvitationAttemptFailed(
            opportunityId: opportunityId, templateId: posting.templateId, now: now)
        let failing = Failing.describe(since: row?.createdAt ?? now, now: now, tries: row?.attempts ?? 1)
        await collector.add(
            Self.unconfirmed(opportunityId, postingId: posting.postingId, "\(why); \(failing)"), failed: true)
    }

    /// Records an interview Hubert already had for this opportunity as the invitation (no request sent).
    func recordFound(_ found: HubertInterview, opportunity: LeverOpportunity, posting: TaggedPosting) async throws {
        try await recordIntent(opportunity, posting: posting)
        try await store.recordInvitationSent(
            opportunityId: opportunity.id, templateId: posting.templateId,
            interviewId: found.id, status: found.status,
            stageAtInvitation: .some(Planner.stageAt(opportunity.candidacy, time: found.invitedAt)),
            now: clock())
        try await store.releaseHold(opportunityId: opportunity.id, templateId: posting.templateId)
    }

    /// Records the intent to invite (opportunity, template) under its deterministic Idempotency-Key, before any
    /// request; false when the ledger already holds one.
    @discardableResult
    func recordIntent(_ opportunity: LeverOpportunity, posting: TaggedPosting) async throws -> Bool {
        try await store.recordInvitationIntent(
            InvitationRecord(
                opportunityId: opportunity.id, templateId: posting.templateId, postingId: posting.postingId,
                state: .pending, interviewId: nil, stageAtInvitation: opportunity.stageId,
                appliedAt: opportunity.appliedAt),
            idempotencyKey: HubertClient.idempotencyKey(opportunityId: opportunity.id, templateId: posting.templateId),
            now: clock())
    }

    func findInterview(opportunityId: String, templateId: String) async throws -> HubertInterview? {
        try await hubert.interviews(opportunityId: opportunityId).first { $0.templateId == templateId }
    }
}
