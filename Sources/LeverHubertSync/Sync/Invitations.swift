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
        // Postings read from further back (a corrected tag, a healed template) share queries of their own, from the
        // earliest of them (eligibility decides each candidate; what is read further back than a posting needed costs
        // pages of those postings only): two series of 100-posting queries, however many healed at different times.
        let further = postings.values.filter { ($0.readFrom ?? window.lowerBound) < window.lowerBound }
        let series: [(from: Millis, postings: [TaggedPosting])] = [
            (window.lowerBound, postings.values.filter { ($0.readFrom ?? window.lowerBound) >= window.lowerBound }),
            (further.compactMap(\.readFrom).min() ?? window.lowerBound, further),
        ]
        for (readFrom, group) in series where !group.isEmpty {
            try await scanOpportunities(
                postings: postings, ids: group.map(\.postingId).sorted(), readFrom: readFrom, window: window,
                backfill: backfill, context: context, effects: effects, collector: collector)
        }
    }

    /// Pages through the opportunities of some postings changed since `readFrom`, 100 postings a query.
    private func scanOpportunities(
        postings: [String: TaggedPosting], ids: [String], readFrom: Millis, window: ClosedRange<Millis>,
        backfill: Bool, context: PassContext, effects: any Effects, collector: PassCollector
    ) async throws {
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(ids.count, start + Self.postingBatch)])
            start += Self.postingBatch
            var filter = OpportunityFilter()
            filter.postingIds = batch
            filter.updatedSince = readFrom
            try await lever.forEachOpportunityPage(filter) { page in
                try await stopAtDeadline(collector)
                for failure in page.failures {
                    await collector.add(
                        Problem(
                            opportunityId: failure.id, reason: .undecodableOpportunity,
                            message: "opportunity \(failure.id ?? "without id") could not be read: \(failure.reason)"),
                        failed: true)
                }
                let fresh = await collector.firstSights(page.items)
                let invited = try await store.invitedPairs(opportunityIds: fresh.map(\.id))
                let holds = try await store.holds(opportunityIds: fresh.map(\.id))
                let applicants = Locked<[Applicant]>([])
                try await concurrentForEach(fresh, limit: config.concurrency) { opportunity in
                    if let applicant = try await considerOpportunity(
                        opportunity, batch: batch, postings: postings, window: window, backfill: backfill,
                        invited: invited, holds: holds, context: context, effects: effects, collector: collector)
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
        window: ClosedRange<Millis>, backfill: Bool, invited: Set<InvitationKey>, holds: [InvitationKey: HoldState],
        context: PassContext, effects: any Effects, collector: PassCollector
    ) async throws -> Applicant? {
        let candidacy = opportunity.candidacy
        if Planner.mustForget(candidacy) {
            // Erasure first: nothing of an anonymized candidate stays, not even as an applicant of the funnel.
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
                    Self.itemProblem(error, opportunity.id, postingId: nil, doing: "reading its application") {
                        Problem(
                            opportunityId: opportunity.id, reason: .undecodableOpportunity,
                            message: "the application of opportunity \(opportunity.id) could not be read: \(error)")
                    },
                    failed: true)
                return nil
            }
        }
        guard let postingId, let tagged = postings[postingId] else { return nil }
        let templates =
            backfill
            ? [tagged.templateId]
            : Planner.templatesToDecide(
                current: tagged.closed ? nil : tagged.templateId, periods: tagged.periods,
                windowStart: window.lowerBound)
        var applicant: Applicant?
        for templateId in templates {
            var posting = tagged
            if templateId != tagged.templateId || tagged.closed {
                // A period that ended inside the window: decided by its periods alone (Hubert answers for the rest).
                posting.templateId = templateId
                posting.postingHold = nil
                posting.decideFrom = nil
            }
            // Hubert refused this template earlier in the pass: nobody else on it is tried (the posting is a problem).
            guard !(await collector.isForbidden(template: posting.templateId)) else { continue }
            let counted = try await decide(
                opportunity, candidacy, posting: posting, window: window, backfill: backfill, invited: invited,
                holds: holds,
                context: context, effects: effects, collector: collector)
            // The funnel counts the opportunity once per pass, under the posting's current template first.
            if applicant == nil { applicant = counted }
        }
        return applicant
    }

    /// Decides one (opportunity, template) by `Planner.eligibility` and acts on it: invite, hold, let a hold go.
    /// Returns the opportunity as an applicant of the posting when its trigger lies in a period of the template.
    private func decide(
        _ opportunity: LeverOpportunity, _ candidacy: Candidacy, posting: TaggedPosting, window: ClosedRange<Millis>,
        backfill: Bool,
        invited: Set<InvitationKey>, holds: [InvitationKey: HoldState], context: PassContext, effects: any Effects,
        collector: PassCollector
    ) async throws -> Applicant? {
        let key = InvitationKey(opportunityId: opportunity.id, templateId: posting.templateId)
        let hold = holds[key]
        let decision = Planner.eligibility(
            EligibilityInput(
                opportunity: candidacy, templateId: posting.templateId,
                periods: posting.periods, newApplicantStageId: context.newApplicantStageId,
                window: posting.decideFrom.map { min($0, window.lowerBound)...window.upperBound } ?? window,
                backfill: backfill,
                invited: invited.contains(key), hold: hold,
                postingHold: posting.postingHold, now: clock(), holdMs: holdMs))
        let applicant: Applicant? =
            switch decision {
            case .notDue(.outsideWindow), .notDue(.beforeTaggingPeriod), .notDue(.outsideTaggingPeriod), .forget,
                .givenUp:
                nil
            case .invite, .hold, .notDue, .alreadyInvited:
                (opportunity.id, posting.postingId, posting.templateId, opportunity.appliedAt)
            }
        switch decision {
        case .givenUp, .forget:
            break
        case .alreadyInvited, .notDue:
            if hold != nil {
                // Invited, but the hold outlived it (a stop between the two records); or held before and no longer
                // due (archived, moved on from New applicant): it leaves the report.
                try await effects.record {
                    try await store.releaseHold(opportunityId: opportunity.id, templateId: posting.templateId)
                }
            }
            if case .notDue(let reason) = decision, reason == .archived || hold != nil {
                logger.debug(
                    "not invited",
                    metadata: ["lever.opportunity.id": "\(opportunity.id)", "reason": "\(reason.rawValue)"])
                await collector.skip()
            }
        case .hold(let reason, let trigger):
            try await effects.record {
                try await store.recordHold(
                    opportunityId: opportunity.id, templateId: posting.templateId, postingId: posting.postingId,
                    reason: reason.rawValue, trigger: trigger, opportunityUpdatedAt: opportunity.updatedAt, now: clock()
                )
            }
            await collector.add(Problem.held(candidacy, postingId: posting.postingId, reason: reason))
        case .invite(let candidate, let trigger):
            try await invite(
                opportunity, posting: posting, candidate: candidate, trigger: trigger, effects: effects,
                collector: collector)
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

    /// The problem of one opportunity's failed request: Lever's refusal (a 403 it answered) is the opportunity's
    /// `opportunity_forbidden`; any other failure is `otherwise`.
    static func itemProblem(
        _ error: APIError, _ opportunityId: String, postingId: String?, doing what: String,
        otherwise: () -> Problem
    ) -> Problem {
        error.isRefusal ? forbidden(opportunityId, postingId: postingId, what: what, error) : otherwise()
    }

    /// Sends one invitation through the effects (live: the ledger's intent first, then the request with its
    /// deterministic Idempotency-Key, then the outcome). Before that, Hubert is asked whether the opportunity already has
    /// an interview when the ledger cannot know: the opportunity is older than Hubert remembers keys (a restored
    /// backup, pruned rows, a new database, an old backfill window).
    func invite(
        _ opportunity: LeverOpportunity, posting: TaggedPosting, candidate: HubertCandidate, trigger: Millis? = nil,
        effects: any Effects, collector: PassCollector, intentRecorded: Bool = false
    ) async throws {
        if !intentRecorded && Planner.mayPredateHubertMemory(opportunity.candidacy, now: clock()) {
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
                // The intent is recorded all the same: the next pass settles it (asks Hubert first, then sends), so
                // the candidate is not lost when the checkpoint moves on.
                try await effects.record { try await recordIntent(opportunity, posting: posting) }
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
                opportunity: opportunity, posting: posting, candidate: candidate, intentRecorded: intentRecorded,
                trigger: trigger),
            collector: collector)
    }
}

extension APIError {
    /// A 403 the service really answered: a refusal of this item, not a failure to answer.
    var isRefusal: Bool { status == 403 && !noAnswer }
}
