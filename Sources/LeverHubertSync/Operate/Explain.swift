import Foundation
import GRDB

/// `explain OPPORTUNITY_ID`: why a candidate was or was not invited, and where its result's write-back stands — from
/// the store and one read of the opportunity, decided by the pass's own rules (`Planner.eligibility`).
public struct Explanation: Codable, Sendable, Equatable {
    /// One template's verdict.
    public struct Template: Codable, Sendable, Equatable {
        /// One write-back step of the latest result version.
        public struct Step: Codable, Sendable, Equatable {
            public var step: String
            public var state: String
        }
        public var templateId: String?
        /// `invited`, `due` (the next pass invites), `held`, `not_due`, `given_up` or `erased`.
        public var decision: String
        public var reason: String?
        public var since: String?
        public var message: String
        /// When a held candidate is given up (`sync.holdDays` after it was first held).
        public var givenUpAt: String?
        public var interviewId: String?
        public var invitedAt: String?
        /// The interview's state at Hubert as last seen (`invited`, `started`, `completed`, `expired` …;
        /// `unconfirmed` while Hubert's answer is not confirmed), and the ledger's own state of the invitation.
        public var state: String?
        public var ledgerState: String?
        /// The result's write-back: `written`, `due`, `given_up`, or nil without a result.
        public var writeBack: String?
        public var steps: [Step]?
    }
    public var opportunityId: String
    public var postingId: String?
    /// `unknown` when Lever and the store know nothing of the opportunity (or it was erased); nil otherwise.
    public var decision: String?
    public var message: String?
    public var templates: [Template]
}

extension SyncEngine {
    /// Explains one opportunity. Writes nothing (the store should be opened read-only); reads the opportunity once.
    public func explain(opportunityId: String) async throws -> Explanation {
        let now = clock()
        let invitations = try await store.read { db in
            try InvitationRecord.filter(InvitationRecord.Columns.opportunityId == opportunityId).fetchAll(db)
        }
        let holds = try await store.holds(opportunityId: opportunityId)
        guard let opportunity = try await lever.opportunity(id: opportunityId) else {
            return Explanation(
                opportunityId: opportunityId, postingId: nil, decision: "unknown",
                message: invitations.isEmpty && holds.isEmpty
                    ? "Lever does not know this opportunity, and neither does the store"
                    : "Lever no longer has this opportunity: it is erased from the store by the next hourly purge",
                templates: [])
        }
        if Planner.mustForget(opportunity.candidacy) {
            return Explanation(
                opportunityId: opportunityId, postingId: nil, decision: "unknown",
                message: "the candidate is anonymized in Lever: the tool forgets everything about it",
                templates: [
                    Explanation.Template(
                        templateId: nil, decision: "erased", reason: "anonymized", since: nil,
                        message: "anonymized in Lever; nothing that names the candidate is kept or shown")
                ])
        }
        let postingId = opportunity.postingId ?? invitations.first?.postingId ?? holds.first?.postingId
        var periods: [TaggingPeriod] = []
        var snapshot: PostingSnapshotEntry?
        var malformedSince: Millis?
        if let postingId {
            periods = try await store.taggingPeriods(postingId: postingId)
            snapshot = try await store.postingSnapshot()[postingId]
            malformedSince = try await store.malformedPostings().malformed[postingId]
        }
        let stageId = try await explainStageId()
        var templateIds: [String] = []
        for id in periods.map(\.templateId) + invitations.map(\.templateId) + holds.map(\.templateId)
        where !templateIds.contains(id) {
            templateIds.append(id)
        }
        let window = try await nextLiveWindow(now: now)
        let current = snapshot?.tagVerdict.template
        // The templates the next pass decides for this posting, by the pass's own rule.
        let decided =
            window.map {
                Planner.templatesToDecide(current: current, periods: periods, windowStart: $0.lowerBound)
            } ?? []
        var result: [Explanation.Template] = []
        for templateId in templateIds {
            if let invitation = invitations.first(where: { $0.templateId == templateId }) {
                result.append(try await explainInvitation(invitation))
                continue
            }
            var postingHold: HoldReason?
            if current == templateId, let cached = try await store.cachedTemplate(templateId, freshAfter: 0) {
                postingHold = TemplateStatus(stored: cached.status).postingHold
            }
            let hold = holds.first { $0.templateId == templateId }
            var input = EligibilityInput(
                opportunity: opportunity.candidacy, templateId: templateId,
                periods: periods,
                newApplicantStageId: stageId, window: window, hold: hold?.hold, postingHold: postingHold,
                now: now, holdMs: holdMs)
            if !decided.contains(templateId), let hold {
                // The posting does not carry this template now: the hold stands until it is given up.
                result.append(
                    explainDecision(
                        hold.hold.isGivenUp(now: now, holdMs: holdMs)
                            ? .givenUp
                            : .hold(HoldReason(rawValue: hold.reason) ?? .missingEmail, trigger: hold.trigger),
                        input: input, hold: hold))
                continue
            }
            if !decided.contains(templateId) {
                // The posting does not carry this template now: no pass decides it.
                input.window = Planner.range(0, now)
                let reason: NotDueReason =
                    switch Planner.eligibility(input) {
                    case .notDue(let reason) where reason != .outsideWindow: reason
                    default: .outsideTaggingPeriod
                    }
                result.append(notDue(templateId, reason))
                continue
            }
            result.append(explainDecision(Planner.eligibility(input), input: input, hold: hold))
        }
        if case .invalid? = snapshot?.tagVerdict, let since = malformedSince,
            Planner.triggers(opportunity.candidacy, newApplicantStageId: stageId).contains(where: { $0 >= since })
        {
            result.append(
                Explanation.Template(
                    templateId: nil, decision: "held", reason: HoldReason.postingTagMalformed.rawValue,
                    since: RFC3339.format(since), message: HoldReason.postingTagMalformed.advice,
                    givenUpAt: RFC3339.format(since + holdMs)))
        }
        return Explanation(
            opportunityId: opportunityId, postingId: postingId, decision: nil,
            message: result.isEmpty ? "the candidate's posting never carried a Hubert template tag" : nil,
            templates: result)
    }

    /// The window the next live pass decides from (nil before the first pass).
    func nextLiveWindow(now: Millis) async throws -> ClosedRange<Millis>? {
        guard let checkpoint = try await store.checkpoint(Self.leverStream) else { return nil }
        let anchor = checkpoint > now ? try await store.lastCleanRunStart(notAfter: now) : nil
        let start = Planner.windowStart(checkpoint: checkpoint, now: now, lookbackMs: lookbackMs, lastInStep: anchor)
        return Planner.range(start.start, now)
    }

    /// The New applicant stage's id from the stages a pass cached (whatever their age), else read from Lever.
    func explainStageId() async throws -> String {
        let name = config.newApplicantStage
        if let text = try await store.cachedLookup("lever.stages", freshAfter: 0),
            let cached = try? JSONDecoder().decode([[String: String]].self, from: Data(text.utf8))
        {
            let stages = cached.compactMap { s in s["id"].map { LeverStage(id: $0, text: s["text"] ?? "") } }
            if let id = StageResolver.resolve(name, in: stages) { return id }
        }
        if name == AppConfig.Defaults.newApplicantStage { return "applicant-new" }
        return StageResolver.resolve(name, in: try await lever.stages()) ?? name
    }

    private func notDue(_ templateId: String, _ reason: NotDueReason) -> Explanation.Template {
        let message: String =
            switch reason {
            case .beforeTaggingPeriod:
                "applied (or entered New applicant) before the posting carried this template's tag: not invited; a backfill can"
            case .outsideTaggingPeriod:
                "applied while the posting did not carry this template's tag (untagged, or another template): not invited"
            case .archived: "archived in Lever: not invited"
            case .notInNewApplicant: "no longer in New applicant: not invited"
            case .outsideWindow:
                "nothing new since the last pass: a pass invites new applications and moves into New applicant"
            }
        return Explanation.Template(
            templateId: templateId, decision: "not_due", reason: reason.rawValue, since: nil, message: message)
    }

    private func explainDecision(_ decision: Eligibility, input: EligibilityInput, hold: HoldRecord?)
        -> Explanation.Template
    {
        let templateId = input.templateId
        switch decision {
        case .invite(_, let trigger):
            return Explanation.Template(
                templateId: templateId, decision: "due", reason: nil, since: RFC3339.format(trigger),
                message: "due: the next pass invites this candidate")
        case .hold(let reason, _):
            let since = hold?.since ?? input.now
            return Explanation.Template(
                templateId: templateId, decision: "held", reason: reason.rawValue, since: RFC3339.format(since),
                message: reason.advice, givenUpAt: RFC3339.format(since + input.holdMs))
        case .givenUp:
            return Explanation.Template(
                templateId: templateId, decision: "given_up", reason: hold?.reason,
                since: hold.map { RFC3339.format($0.since) },
                message: "held back longer than sync.holdDays and given up: no pass invites it (a backfill still can)")
        case .notDue(let reason):
            if reason == .outsideWindow {
                // Why it was never due: the same rules over all time.
                var wide = input
                wide.window = Planner.range(0, input.now)
                if case .notDue(let why) = Planner.eligibility(wide) { return notDue(templateId, why) }
            }
            return notDue(templateId, reason)
        case .alreadyInvited:
            return Explanation.Template(
                templateId: templateId, decision: "invited", reason: nil, since: nil, message: "invited")
        case .forget:
            return Explanation.Template(
                templateId: templateId, decision: "erased", reason: "anonymized", since: nil,
                message: "anonymized in Lever; nothing that names the candidate is kept or shown")
        }
    }

    private func explainInvitation(_ invitation: InvitationRecord) async throws -> Explanation.Template {
        var entry = Explanation.Template(
            templateId: invitation.templateId, decision: "invited", reason: invitation.refusal,
            since: RFC3339.format(invitation.createdAt), message: "", interviewId: invitation.interviewId,
            invitedAt: invitation.sentAt.map(RFC3339.format), state: nil, ledgerState: invitation.state.rawValue)
        switch invitation.state {
        case .sent:
            entry.state = invitation.interviewStatus ?? "invited"
            entry.message = "invited: Hubert confirmed the interview"
        case .pending:
            entry.state = "unconfirmed"
            entry.message = "invitation recorded, Hubert's answer not confirmed yet: the next pass settles it"
        case .refused:
            entry.decision = "given_up"
            entry.state = "refused"
            entry.message = "never sent: \(invitation.refusal ?? "closed"); no pass invites the candidate again"
        }
        guard let interviewId = invitation.interviewId else { return entry }
        let (due, applied) = try await store.read { db in
            (try DueResult.fetchOne(db, key: interviewId), try AppliedResultRecord.fetchOne(db, key: interviewId))
        }
        if let fingerprint = due?.fingerprint ?? applied?.fingerprint {
            let steps = try await store.resultSteps(interviewId: interviewId, fingerprint: fingerprint)
            entry.steps = steps.values.sorted { $0.step.rawValue < $1.step.rawValue }.map {
                Explanation.Template.Step(step: $0.step.rawValue, state: $0.state.rawValue)
            }
        }
        entry.writeBack =
            switch due?.state {
            case .due?: "due"
            case .givenUp?: "given_up"
            case nil: applied == nil ? nil : "written"
            }
        return entry
    }
}
