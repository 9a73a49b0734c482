import Foundation

/// Invitations: who on a tagged posting is invited, through the ledger (intent → request → outcome), once per
/// (opportunity, template) ever.
extension SyncEngine {
    /// Pages through every opportunity of the tagged postings changed since the window opened: one query per 100
    /// postings finds both new applications and moves into New applicant (either one changes `updatedAt`, which only
    /// grows), with no upper bound, so that an opportunity changed again while the pass pages is still found. The
    /// rules keep those whose application or entry into New applicant falls inside the window. The ledger is read
    /// once per page, the applicants are recorded once per page.
    func scanOpportunities(
        postings: [String: TaggedPosting], window: ClosedRange<Millis>, backfill: Bool,
        context: PassContext, effects: any Effects, collector: PassCollector
    ) async throws {
        let ids = postings.keys.sorted()
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(ids.count, start + Self.postingBatch)])
            start += Self.postingBatch
            var filter = OpportunityFilter()
            filter.postingIds = batch
            filter.updatedSince = window.lowerBound
            try await lever.forEachOpportunityPage(filter) { page in
                for failure in page.failures {
                    await collector.add(
                        Problem(
                            opportunityId: failure.id, reason: .undecodableOpportunity,
                            message: "opportunity \(failure.id ?? "without id") could not be read: \(failure.reason)"),
                        failed: true)
                }
                let fresh = await collector.firstSights(page.items)
                let invited = try await store.invitedPairs(opportunityIds: fresh.map(\.id))
                let applicants = Locked<[Applicant]>([])
                try await concurrentForEach(fresh, limit: config.concurrency) { opportunity in
                    if let applicant = try await considerOpportunity(
                        opportunity, batch: batch, postings: postings, window: window, backfill: backfill,
                        invited: invited, context: context, effects: effects, collector: collector)
                    {
                        applicants.withLock { $0.append(applicant) }
                    }
                }
                try await effects.record { try await store.recordApplicants(applicants.withLock { $0 }, now: clock()) }
                progress?(
                    ProgressEvent(
                        stream: "lever opportunities", items: page.data.count,
                        position: page.items.last?.createdAt, window: window))
            }
        }
    }

    /// An opportunity of a tagged posting for the funnel (invited or not), recorded with its page.
    typealias Applicant = (opportunityId: String, postingId: String, templateId: String, appliedAt: Millis?)

    /// Plans and applies one opportunity of the window; returns it as an applicant of its posting when it applied
    /// (or entered New applicant) there after the posting was tagged.
    func considerOpportunity(
        _ opportunity: LeverOpportunity, batch: [String], postings: [String: TaggedPosting],
        window: ClosedRange<Millis>, backfill: Bool, invited: Set<String>, context: PassContext, effects: any Effects,
        collector: PassCollector
    ) async throws -> Applicant? {
        if opportunity.isAnonymized {
            try await erase(opportunity.id, effects: effects, collector: collector)
            await collector.skip()
            return nil
        }
        var postingId = opportunity.postingId
        if postingId == nil && batch.count == 1 { postingId = batch[0] }
        if postingId == nil {
            // Lever did not expand the application: ask for it.
            do {
                postingId = try await lever.applications(opportunityId: opportunity.id).lazy.compactMap(\.postingId)
                    .first
            } catch let error as APIError {
                await collector.add(
                    error.status == 403
                        ? Self.forbidden(opportunity.id, postingId: nil, what: "reading its application", error)
                        : Problem(
                            opportunityId: opportunity.id, reason: .undecodableOpportunity,
                            message: "the application of opportunity \(opportunity.id) could not be read: \(error)"),
                    failed: true)
                return nil
            }
        }
        guard let postingId, let posting = postings[postingId] else { return nil }
        // Hubert refused this template earlier in the pass: nobody else on it is tried (the posting is a problem).
        guard !(await collector.isForbidden(template: posting.templateId)) else { return nil }
        let decision = Planner.decideInvitation(
            opportunity, posting: posting, newApplicantStageId: context.newApplicantStageId,
            window: window, backfill: backfill,
            alreadyInvited: invited.contains(opportunity.id + "|" + posting.templateId), now: clock())
        let applicant: Applicant? =
            switch decision {
            case .skip(.outsideWindow), .skip(.beforeTag): nil
            case .invite, .problem, .skip, .alreadyInvited:
                (opportunity.id, posting.postingId, posting.templateId, opportunity.appliedAt)
            }
        switch decision {
        case .alreadyInvited, .skip(.outsideWindow):
            break
        case .skip(let reason):
            logger.debug(
                "not invited", metadata: ["lever.opportunity.id": "\(opportunity.id)", "reason": "\(reason.rawValue)"])
            await collector.skip()
        case .problem(let problem):
            await collector.add(problem)
        case .invite(let candidate):
            try await invite(
                opportunity, posting: posting, candidate: candidate, effects: effects, collector: collector)
        }
        return applicant
    }

    /// An invitation whose outcome is not known yet: its intent stays pending and the next pass settles it.
    static func unconfirmed(_ opportunityId: String, postingId: String, _ why: String) -> Problem {
        Problem(
            opportunityId: opportunityId, postingId: postingId, reason: .invitationUnconfirmed,
            message: why + "; settled next pass")
    }

    /// How old an interview Hubert returns under our key must be to count as an earlier pass's invitation.
    static let replayHorizonMs: Millis = 10 * 60_000

    /// The problem of an opportunity Lever refuses to show or change (403): a confidential candidate, a permission
    /// that flickers. The pass goes on.
    static func forbidden(_ opportunityId: String, postingId: String?, what: String, _ error: APIError) -> Problem {
        Problem(
            opportunityId: opportunityId, postingId: postingId, reason: .opportunityForbidden,
            message: "Lever refused \(what) for opportunity \(opportunityId) (\(error)); tried again next pass")
    }

    /// Sends one invitation through the effects (live: the ledger's intent first, then the request with its
    /// deterministic Idempotency-Key, then the outcome). Before that, Hubert is asked whether the opportunity already has
    /// an interview when the ledger cannot know: the opportunity is older than Hubert remembers keys (a restored
    /// backup, pruned rows, a new database, an old backfill window).
    func invite(
        _ opportunity: LeverOpportunity, posting: TaggedPosting, candidate: HubertCandidate, effects: any Effects,
        collector: PassCollector, intentRecorded: Bool = false
    ) async throws {
        if !intentRecorded && Planner.mayPredateHubertMemory(opportunity, now: clock()) {
            do {
                if let found = try await findInterview(opportunityId: opportunity.id, templateId: posting.templateId) {
                    logger.info(
                        "already invited before this ledger knew it",
                        metadata: [
                            "lever.opportunity.id": "\(opportunity.id)", "hubert.interview.id": "\(found.id)",
                        ])
                    try await effects.record {
                        try await recordFound(found, opportunity: opportunity, posting: posting)
                    }
                    return
                }
            } catch let error as APIError {
                await collector.add(
                    Self.unconfirmed(
                        opportunity.id, postingId: posting.postingId,
                        "could not ask Hubert whether opportunity \(opportunity.id) was invited before (\(error))"),
                    failed: true)
                return
            }
        }
        try await effects.invite(
            PlannedInvitation(
                opportunity: opportunity, posting: posting, candidate: candidate, intentRecorded: intentRecorded),
            collector: collector)
    }

    /// The live effect of an invitation: intent, request, outcome (`LiveEffects`).
    func sendInvitation(_ planned: PlannedInvitation, collector: PassCollector) async throws {
        let (opportunity, posting, candidate) = (planned.opportunity, planned.posting, planned.candidate)
        let action = planned.action
        let reference = HubertExternalReference(opportunityId: opportunity.id, postingId: posting.postingId)
        let key = HubertClient.idempotencyKey(opportunityId: opportunity.id, templateId: posting.templateId)
        if !planned.intentRecorded {
            let record = InvitationRecord(
                opportunityId: opportunity.id, templateId: posting.templateId, postingId: posting.postingId,
                state: .pending, interviewId: nil, stageAtInvitation: opportunity.stageId,
                appliedAt: opportunity.appliedAt)
            guard try await store.recordInvitationIntent(record, idempotencyKey: key, now: clock()) else { return }
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
                stageAtInvitation: created ? .none : .some(Planner.stageAt(opportunity, time: interview.invitedAt)),
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
            try await store.clearOpportunityProblems(opportunityId: opportunity.id)
            logger.info(
                "invited",
                metadata: ["lever.opportunity.id": "\(opportunity.id)", "hubert.interview.id": "\(interview.id)"])
        } catch let error as APIError {
            if error.status == 409 {
                // Same key, another body (the candidate's data changed): the first interview stands.
                let found: HubertInterview?
                do {
                    found = try await findInterview(opportunityId: opportunity.id, templateId: posting.templateId)
                } catch let lookup as APIError {
                    await collector.add(
                        Self.unconfirmed(
                            opportunity.id, postingId: posting.postingId,
                            "invitation for opportunity \(opportunity.id) answered 409 and could not be read back (\(lookup))"
                        ),
                        failed: true)
                    return
                }
                if let found {
                    try await store.recordInvitationSent(
                        opportunityId: opportunity.id, templateId: posting.templateId, interviewId: found.id,
                        status: found.status,
                        stageAtInvitation: .some(Planner.stageAt(opportunity, time: found.invitedAt)),
                        now: clock())
                    return
                }
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
            await collector.add(
                Self.unconfirmed(
                    opportunity.id, postingId: posting.postingId,
                    "invitation for opportunity \(opportunity.id) not confirmed (\(error.reason))"),
                failed: true)
        }
    }

    /// Records an interview Hubert already had for this opportunity as the invitation (no request sent).
    func recordFound(_ found: HubertInterview, opportunity: LeverOpportunity, posting: TaggedPosting) async throws {
        let key = HubertClient.idempotencyKey(opportunityId: opportunity.id, templateId: posting.templateId)
        let record = InvitationRecord(
            opportunityId: opportunity.id, templateId: posting.templateId, postingId: posting.postingId,
            state: .pending, interviewId: nil, stageAtInvitation: opportunity.stageId,
            appliedAt: opportunity.appliedAt)
        try await store.recordInvitationIntent(record, idempotencyKey: key, now: clock())
        try await store.recordInvitationSent(
            opportunityId: opportunity.id, templateId: posting.templateId,
            interviewId: found.id, status: found.status,
            stageAtInvitation: .some(Planner.stageAt(opportunity, time: found.invitedAt)),
            now: clock())
    }

    func findInterview(opportunityId: String, templateId: String) async throws -> HubertInterview? {
        try await hubert.interviews(opportunityId: opportunityId).first { $0.templateId == templateId }
    }

    /// Invitations recorded as intended but never confirmed: read back from Hubert; sent again only while they still
    /// can be. One that never can be (template forbidden or inactive, posting no longer tagged, the candidate archived
    /// or without an e-mail) is closed as refused and reported, not retried forever; one that stays unconfirmed for
    /// `sync.giveUpAfterDays` is given up. An opportunity Lever deleted is forgotten quietly.
    func settlePendingInvitations(postings: PostingScan, skewed: Bool, effects: any Effects, collector: PassCollector)
        async throws
    {
        for pending in try await store.pendingInvitations() {
            let problemBase = Problem(
                opportunityId: pending.opportunityId, postingId: pending.postingId, reason: "", message: "")
            func close(_ reason: String, _ why: String, failed: Bool = true) async throws {
                try await effects.record {
                    try await store.closeInvitationIntent(
                        opportunityId: pending.opportunityId, templateId: pending.templateId,
                        reason: reason, now: clock())
                }
                var problem = problemBase
                problem.reason = reason
                problem.message =
                    "invitation for opportunity \(pending.opportunityId) on posting \(pending.postingId) was "
                    + "never sent and is closed: \(why)"
                await collector.add(problem, failed: failed)
            }
            let found: HubertInterview?
            do {
                found = try await findInterview(opportunityId: pending.opportunityId, templateId: pending.templateId)
            } catch let error as APIError {
                await collector.add(
                    Self.unconfirmed(
                        pending.opportunityId, postingId: pending.postingId,
                        "could not read back the invitation of opportunity \(pending.opportunityId) (\(error))"),
                    failed: true)
                continue
            }
            if let found {
                try await effects.record {
                    try await store.recordInvitationSent(
                        opportunityId: pending.opportunityId, templateId: pending.templateId,
                        interviewId: found.id, status: found.status, now: clock())
                }
                continue
            }
            // A posting that could not be read this pass says nothing about its tag: the intent waits.
            if postings.undecodable.contains(pending.postingId) { continue }
            if let refusal = postings.refusal(postingId: pending.postingId, templateId: pending.templateId) {
                try await close(refusal.reason.rawValue, refusal.why)
                continue
            }
            if !skewed, clock() - pending.createdAt > giveUpMs {
                try await close(
                    ProblemReason.invitationGivenUp.rawValue, "unconfirmed for more than \(config.giveUpAfterDays) days"
                )
                continue
            }
            let opportunity: LeverOpportunity?
            do {
                opportunity = try await lever.opportunity(id: pending.opportunityId)
            } catch let error as APIError {
                await collector.add(
                    error.status == 403
                        ? Self.forbidden(
                            pending.opportunityId, postingId: pending.postingId,
                            what: "reading it to settle its invitation", error)
                        : Self.unconfirmed(
                            pending.opportunityId, postingId: pending.postingId,
                            "could not read opportunity \(pending.opportunityId) to settle its invitation (\(error))"),
                    failed: true)
                continue
            }
            guard let opportunity else {
                try await erase(pending.opportunityId, effects: effects, collector: collector)
                continue
            }
            await _ = collector.firstSight(opportunity.id)
            let posting = TaggedPosting(postingId: pending.postingId, templateId: pending.templateId, firstSeen: 0)
            switch Planner.decideContact(opportunity, posting: posting, now: clock()) {
            case .invite(let candidate):
                try await invite(
                    opportunity, posting: posting, candidate: candidate, effects: effects, collector: collector,
                    intentRecorded: true)
            case .problem(let problem):
                try await close(problem.reason, problem.message)
            case .skip(let reason):
                try await close(
                    (ProblemReason(closing: reason) ?? .opportunityArchived).rawValue,
                    "the candidate is \(reason.rawValue.replacingOccurrences(of: "_", with: " "))",
                    failed: false)
                await collector.skip()
            case .alreadyInvited:
                continue
            }
        }
    }
}
