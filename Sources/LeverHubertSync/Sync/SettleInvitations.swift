import Foundation

/// Settle, invitations: what an earlier pass began and never saw the end of, before anything new.
extension SyncEngine {
    /// Invitations recorded as intended but never confirmed: read back from Hubert; sent again only while they still
    /// can be. One that never can be (template forbidden or inactive, posting no longer tagged, the candidate archived
    /// or without an e-mail) is closed as refused and reported, not retried forever; one that stays unconfirmed for
    /// `sync.giveUpAfterDays` is given up. An opportunity Lever deleted is forgotten quietly.
    func settlePendingInvitations(
        _ intents: [InvitationRecord], postings: PostingScan, skewed: Bool, effects: any Effects,
        collector: PassCollector
    ) async throws {
        for pending in intents {
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
            var observed = ObservedPending(
                opportunityId: pending.opportunityId, postingId: pending.postingId, templateId: pending.templateId,
                createdAt: pending.createdAt, attempts: pending.attempts)
            observed.postingUnreadable = postings.undecodable.contains(pending.postingId)
            observed.postingRefusal = postings.refusal(postingId: pending.postingId, templateId: pending.templateId)
            var opportunity: LeverOpportunity?
            decide: while true {
                // The clock is read at each decision: the reads before it may have taken a while.
                let rules = SettleRules(now: clock(), giveUpDays: config.giveUpAfterDays, skewed: skewed)
                switch Planner.pendingInvitation(observed, rules: rules) {
                case .readBack:
                    do {
                        observed.interview = .some(
                            try await findInterview(
                                opportunityId: pending.opportunityId, templateId: pending.templateId)
                        )
                    } catch let error as APIError {
                        try await settleTryFailed(
                            pending,
                            "could not read back the invitation of opportunity \(pending.opportunityId) (\(error))",
                            effects: effects, collector: collector)
                        break decide
                    }
                case .confirm(let found):
                    try await effects.record {
                        try await store.recordInvitationSent(
                            opportunityId: pending.opportunityId, templateId: pending.templateId,
                            interviewId: found.id, status: found.status, now: clock())
                    }
                    break decide
                case .wait:
                    break decide
                case .close(let reason, let why, let skipped):
                    try await close(reason, why, failed: !skipped)
                    if skipped { await collector.skip() }
                    break decide
                case .readCandidacy:
                    do {
                        opportunity = try await lever.opportunity(id: pending.opportunityId)
                        observed.candidacy = .some(opportunity?.candidacy)
                    } catch let error as APIError {
                        // A refusal is a failed try too: an intent Lever refuses for long enough is given up.
                        try await settleTryFailed(
                            pending,
                            "could not read opportunity \(pending.opportunityId) to settle its invitation (\(error))",
                            problem: error.isRefusal
                                ? Self.forbidden(
                                    pending.opportunityId, postingId: pending.postingId,
                                    what: "reading it to settle its invitation", error) : nil,
                            effects: effects, collector: collector)
                        break decide
                    }
                    if let opportunity { await _ = collector.firstSight(opportunity.id) }
                case .forget:
                    try await erase(pending.opportunityId, effects: effects, collector: collector)
                    break decide
                case .hold(let reason):
                    guard let opportunity else {
                        assertionFailure("the planner holds or sends only a candidacy it was given")
                        break decide
                    }
                    try await effects.record {
                        try await store.holdRefusedInvitation(
                            opportunityId: opportunity.id, templateId: pending.templateId,
                            postingId: pending.postingId, reason: reason.rawValue,
                            trigger: pending.appliedAt ?? opportunity.appliedAt,
                            opportunityUpdatedAt: opportunity.updatedAt, now: clock())
                    }
                    await collector.add(
                        Problem.held(opportunity.candidacy, postingId: pending.postingId, reason: reason))
                    break decide
                case .send(let candidate):
                    guard let opportunity else {
                        assertionFailure("the planner holds or sends only a candidacy it was given")
                        break decide
                    }
                    let posting = TaggedPosting(
                        postingId: pending.postingId, templateId: pending.templateId, firstSeen: 0)
                    try await invite(
                        opportunity, posting: posting, candidate: candidate, effects: effects, collector: collector,
                        intentRecorded: true)
                    break decide
                }
            }
        }
    }

    /// A pending intent could not be settled in this pass: one more real try on its row, and its problem (`problem`,
    /// or `invitation_unconfirmed` with how long it has been unconfirmed).
    private func settleTryFailed(
        _ pending: InvitationRecord, _ why: String, problem: Problem? = nil, effects: any Effects,
        collector: PassCollector
    ) async throws {
        let now = clock()
        try await effects.record {
            try await store.recordInvitationAttemptFailed(
                opportunityId: pending.opportunityId, templateId: pending.templateId, now: now)
        }
        let failing = Failing.describe(since: pending.createdAt, now: now, tries: pending.attempts + 1)
        await collector.add(
            problem ?? Self.unconfirmed(pending.opportunityId, postingId: pending.postingId, "\(why); \(failing)"),
            failed: true)
    }
}
