import Foundation

/// Settle, invitations: what an earlier pass began and never saw the end of, before anything new.
extension SyncEngine {
    /// Invitations recorded as intended but never confirmed: read back from Hubert; sent again only while they still
    /// can be. One that never can be (template forbidden or inactive, posting no longer tagged, the candidate archived
    /// or without an e-mail) is closed as refused and reported, not retried forever; one that stays unconfirmed for
    /// `sync.giveUpAfterDays` is given up. An opportunity Lever deleted is forgotten quietly.
    func settlePendingInvitations(postings: PostingScan, skewed: Bool, effects: any Effects, collector: PassCollector)
        async throws
    {
        for pending in try await store.pendingInvitations() {
            if await pastDeadline(collector) { break }
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
                try await settleTryFailed(
                    pending, "could not read back the invitation of opportunity \(pending.opportunityId) (\(error))",
                    effects: effects, collector: collector)
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
            // Given up only after both the horizon and several real tries on different passes: a pause, an outage
            // of this tool or a forward clock step alone gives nothing up (the intent is simply sent now).
            if Planner.givesUp(
                since: pending.createdAt, attempts: pending.attempts, now: clock(), giveUpMs: giveUpMs, skewed: skewed)
            {
                try await close(
                    ProblemReason.invitationGivenUp.rawValue,
                    "unconfirmed for more than \(config.giveUpAfterDays) days and \(pending.attempts) tries")
                continue
            }
            let opportunity: LeverOpportunity?
            do {
                opportunity = try await lever.opportunity(id: pending.opportunityId)
            } catch let error as APIError {
                if error.isRefusal {
                    await collector.add(
                        Self.forbidden(
                            pending.opportunityId, postingId: pending.postingId,
                            what: "reading it to settle its invitation", error),
                        failed: true)
                } else {
                    try await settleTryFailed(
                        pending,
                        "could not read opportunity \(pending.opportunityId) to settle its invitation (\(error))",
                        effects: effects, collector: collector)
                }
                continue
            }
            guard let opportunity else {
                try await erase(pending.opportunityId, effects: effects, collector: collector)
                continue
            }
            await _ = collector.firstSight(opportunity.id)
            /// Hubert has no interview for it and the cause can be fixed: the intent is withdrawn and the candidate
            /// held, so that the fixed candidate is invited once.
            func holdBack(_ reason: HoldReason) async throws {
                try await effects.record {
                    try await store.holdRefusedInvitation(
                        opportunityId: opportunity.id, templateId: pending.templateId, postingId: pending.postingId,
                        reason: reason.rawValue, trigger: pending.appliedAt ?? opportunity.appliedAt,
                        opportunityUpdatedAt: opportunity.updatedAt, now: clock())
                }
                await collector.add(Problem.held(opportunity.candidacy, postingId: pending.postingId, reason: reason))
            }
            let posting = TaggedPosting(postingId: pending.postingId, templateId: pending.templateId, firstSeen: 0)
            switch Planner.decideContact(opportunity.candidacy, posting: posting, now: clock()) {
            case .invite(let candidate):
                try await invite(
                    opportunity, posting: posting, candidate: candidate, effects: effects, collector: collector,
                    intentRecorded: true)
            case .problem(let problem):
                try await holdBack(HoldReason(rawValue: problem.reason) ?? .missingEmail)
            case .skip(.contactNotAllowed):
                try await holdBack(.contactForbidden)
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

    /// A pending intent could not be settled in this pass: one more real try on its row, and its problem with how
    /// long it has been unconfirmed.
    private func settleTryFailed(
        _ pending: InvitationRecord, _ why: String, effects: any Effects, collector: PassCollector
    ) async throws {
        let now = clock()
        try await effects.record {
            _ = try await store.recordInvitationAttemptFailed(
                opportunityId: pending.opportunityId, templateId: pending.templateId, now: now)
        }
        let failing = Failing.describe(since: pending.createdAt, now: now, tries: pending.attempts + 1)
        await collector.add(
            Self.unconfirmed(pending.opportunityId, postingId: pending.postingId, "\(why); \(failing)"), failed: true)
    }
}
