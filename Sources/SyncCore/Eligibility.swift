import Foundation

/// One stretch of time in which a posting carried one Hubert template tag. A period starts when the tool first sees
/// the tag (at the posting's `updatedAt` when that lies after the previous pass) and ends when it sees the tag changed
/// or gone; `end` is nil while the tag is current.
public struct TaggingPeriod: Sendable, Equatable, Codable {
    public var templateId: String
    public var start: Millis
    public var end: Millis?
    public init(templateId: String, start: Millis, end: Millis? = nil) {
        self.templateId = templateId
        self.start = start
        self.end = end
    }

    /// Whether `time` falls inside the period: from its start, up to (not including) its end — so a moment of a
    /// switch belongs to the new template only.
    public func contains(_ time: Millis) -> Bool { time >= start && (end.map { time < $0 } ?? true) }
}

/// What a pass does to a posting's tagging periods when it sees the posting's tag verdict.
public struct PeriodChange: Sendable, Equatable {
    /// Ends the open period at this time.
    public var closeAt: Millis?
    /// Opens a period of this template from this time.
    public var open: TaggingPeriod?
    /// The first sighting of a malformed Hubert tag: set (a value), cleared (`.some(nil)`), or left (`nil`).
    public var malformedSince: Millis??
    /// The malformed tag was corrected: its candidates are decided from its first sighting until a pass has
    /// processed its whole window (the store keeps the marker until the checkpoint moves).
    public var malformedCorrectedAt: Millis?

    public var isEmpty: Bool { closeAt == nil && open == nil && malformedSince == nil && malformedCorrectedAt == nil }
}

/// Why a held-back candidate waits: a cause somebody can fix in Lever or Hubert. Kept in the store with the candidate
/// until it is invited, no longer due, or given up after `sync.holdDays`.
public enum HoldReason: String, Sendable, CaseIterable, Codable {
    case missingEmail = "missing_email"
    case missingName = "missing_name"
    case invalidEmail = "invalid_email"
    case contactForbidden = "contact_forbidden"
    case contactPermissionUnreadable = "contact_permission_unreadable"
    case templateInactive = "template_inactive"
    case templateNotFound = "template_not_found"
    case postingTagMalformed = "posting_tag_malformed"

    /// The reason a Hubert refusal (its error code, or 404 for an unknown template) stands for, when a later edit can
    /// change it; nil for a refusal that is final.
    public init?(hubertRefusal code: String?, status: Int) {
        if status == 404 {
            self = .templateNotFound
            return
        }
        guard status == 422, let code, let reason = HoldReason(rawValue: code) else { return nil }
        self = reason
    }

    /// What a recruiter can do about it, in words.
    public var advice: String {
        switch self {
        case .missingEmail: "no e-mail address in Lever — add one and the next pass invites"
        case .missingName: "no name in Lever — add one and the next pass invites"
        case .invalidEmail:
            "Hubert refused the e-mail address as invalid — correct it in Lever and the next pass invites"
        case .contactForbidden:
            "the candidate's data-protection settings do not allow contact — once consent is renewed in Lever the next pass invites"
        case .contactPermissionUnreadable:
            "the candidate's data-protection settings cannot be read as a yes or no — correct the consent in Lever and the next pass invites"
        case .templateInactive:
            "the posting's Hubert interview template is not active — reactivate it in Hubert and the next pass invites"
        case .templateNotFound:
            "Hubert does not know the posting's interview template — fix the posting's Hubert tag or the template and the next pass invites"
        case .postingTagMalformed:
            "the posting's Hubert tag is malformed — correct it to \"Hubert: <template id>\" and the next pass invites"
        }
    }
}

/// A held-back (opportunity, template) as the store keeps it.
public struct HoldState: Sendable, Equatable {
    public var reason: String
    /// When the candidate was first held back.
    public var since: Millis
    /// The trigger (application, or entry into New applicant) that made the candidate due.
    public var trigger: Millis?
    /// Given up after `sync.holdDays`: never invited by a pass again (a backfill still can).
    public var givenUp: Bool
    /// The opportunity's `updatedAt` when it was last decided: a cause of its own can only be fixed by a later edit.
    public var opportunityUpdatedAt: Millis?
    public init(
        reason: String, since: Millis, trigger: Millis?, givenUp: Bool = false, opportunityUpdatedAt: Millis? = nil
    ) {
        self.reason = reason
        self.since = since
        self.trigger = trigger
        self.givenUp = givenUp
        self.opportunityUpdatedAt = opportunityUpdatedAt
    }

    /// Given up: marked so, or held longer than the hold horizon (`sync.holdDays`).
    public func isGivenUp(now: Millis, holdMs: Millis) -> Bool { givenUp || now - since > holdMs }

    /// Whether the cause lies with the posting (its template or tag), not with the candidate.
    public var isPostingWide: Bool {
        [HoldReason.templateInactive, .templateNotFound, .postingTagMalformed].map(\.rawValue).contains(reason)
    }
}

/// Why an opportunity of a tagged posting is not due for an invitation.
public enum NotDueReason: String, Sendable, Codable {
    case beforeTaggingPeriod = "before_tagging_period"
    case outsideTaggingPeriod = "outside_tagging_period"
    case archived
    case notInNewApplicant = "not_in_new_applicant"
    /// Neither its application nor an entry into New applicant falls inside the pass's window (nothing new).
    case outsideWindow = "outside_window"
}

/// The verdict on one (opportunity, template): the same function decides for the pass and for `explain`.
public enum Eligibility: Sendable, Equatable {
    /// Send the invitation now.
    case invite(HubertCandidate, trigger: Millis)
    /// The ledger holds an invitation for the pair, in any state.
    case alreadyInvited
    /// Held back for a cause somebody can fix; kept in the store and decided again when the cause may have changed.
    /// (The recruiter's message is `Planner.holdMessage` of the reason.)
    case hold(HoldReason, trigger: Millis?)
    /// Not due; a held candidate in this state leaves the store quietly.
    case notDue(NotDueReason)
    /// Held longer than `sync.holdDays`: never invited by a pass.
    case givenUp
    /// Anonymized in Lever: forgotten before anything else.
    case forget
}

/// Whether a due candidate can be contacted: the invitation's candidate, or the cause that holds it back.
public enum ContactVerdict: Sendable, Equatable {
    case invite(HubertCandidate)
    case hold(HoldReason)
}

/// What one eligibility decision is made from.
public struct EligibilityInput: Sendable {
    public var opportunity: Candidacy
    public var templateId: String
    /// Every tagging period of the posting (any template), in the order they began.
    public var periods: [TaggingPeriod]
    public var newApplicantStageId: String
    /// The triggers a pass counts as new (live: the checkpoint minus the lookback … now; backfill: its window); nil
    /// on the baseline pass.
    public var window: ClosedRange<Millis>?
    /// A backfill: the window itself is the criterion (periods and holds aside).
    public var backfill: Bool
    public var invited: Bool
    public var hold: HoldState?
    /// A cause that holds back everyone on the posting (its template inactive or unknown at Hubert).
    public var postingHold: HoldReason?
    public var now: Millis
    public var holdMs: Millis

    public init(
        opportunity: Candidacy, templateId: String, periods: [TaggingPeriod],
        newApplicantStageId: String, window: ClosedRange<Millis>?, backfill: Bool = false, invited: Bool = false,
        hold: HoldState? = nil, postingHold: HoldReason? = nil, now: Millis, holdMs: Millis
    ) {
        self.opportunity = opportunity
        self.templateId = templateId
        self.periods = periods
        self.newApplicantStageId = newApplicantStageId
        self.window = window
        self.backfill = backfill
        self.invited = invited
        self.hold = hold
        self.postingHold = postingHold
        self.now = now
        self.holdMs = holdMs
    }
}

extension Planner {
    /// The moments that can make an opportunity due: its application, and its latest entry into New applicant while
    /// it still stands there.
    public static func triggers(_ opportunity: Candidacy, newApplicantStageId: String) -> [Millis] {
        var result: [Millis] = []
        if let applied = opportunity.appliedAt { result.append(applied) }
        if opportunity.stageId == newApplicantStageId, let entered = opportunity.enteredStage(newApplicantStageId) {
            result.append(entered)
        }
        return result
    }

    /// What a pass does to a posting's periods on seeing its tag verdict at `seenAt` (`Planner.firstSeen`: not before
    /// the previous pass, not before the posting last changed, never after now). A switch ends one period and starts
    /// another; a removal ends it; a malformed tag ends it and is remembered, so that the corrected tag counts from
    /// the malformed tag's first sighting.
    public static func periodChange(
        open: TaggingPeriod?, malformedSince: Millis?, verdict: PostingTagVerdict, seenAt: Millis
    ) -> PeriodChange {
        var change = PeriodChange()
        let closeAt = open.map { max($0.start, seenAt) }
        switch verdict {
        case .template(let template):
            if malformedSince != nil { change.malformedCorrectedAt = seenAt }
            if open?.templateId == template { return change }
            change.closeAt = closeAt
            var start = malformedSince ?? seenAt
            if let closeAt { start = max(start, closeAt) }
            change.open = TaggingPeriod(templateId: template, start: start)
        case .none:
            change.closeAt = closeAt
            if malformedSince != nil { change.malformedSince = .some(nil) }
        case .invalid:
            change.closeAt = closeAt
            if malformedSince == nil { change.malformedSince = .some(seenAt) }
        }
        return change
    }

    /// The templates a live pass decides for a posting: its current one, and every template whose period ended inside
    /// the window (a candidate who applied before a switch or a removal, which the pass saw only after it, is still
    /// owed the interview of the template that was on then). Derived from the stored periods and the window alone, so
    /// a pass that stops before its checkpoint decides the same again.
    public static func templatesToDecide(current: String?, periods: [TaggingPeriod], windowStart: Millis) -> [String] {
        var result = current.map { [$0] } ?? []
        for period in periods.reversed() {
            guard let end = period.end, end > windowStart, !result.contains(period.templateId) else { continue }
            result.append(period.templateId)
        }
        return result
    }

    /// Whether an opportunity is due for an invitation, held back, or neither. Live, a trigger must fall inside the
    /// pass's window and inside a tagging period of the template; a held candidate is decided again whatever the
    /// window (healing), invited only while it still stands in New applicant and is not archived, and given up after
    /// the hold horizon. A backfill takes its window as the criterion.
    public static func eligibility(_ input: EligibilityInput) -> Eligibility {
        let opportunity = input.opportunity
        if mustForget(opportunity) { return .forget }
        if input.invited { return .alreadyInvited }
        let triggers = triggers(opportunity, newApplicantStageId: input.newApplicantStageId)
        let periods = input.periods.filter { $0.templateId == input.templateId }
        if let hold = input.hold, !input.backfill {
            if hold.isGivenUp(now: input.now, holdMs: input.holdMs) { return .givenUp }
            if opportunity.isArchived { return .notDue(.archived) }
            guard opportunity.stageId == input.newApplicantStageId else { return .notDue(.notInNewApplicant) }
            let trigger = hold.trigger ?? triggers.max()
            // Nothing that could fix the cause has changed: the hold stands as it is (Hubert is not asked again).
            let edited = hold.opportunityUpdatedAt == nil || opportunity.updatedAt != hold.opportunityUpdatedAt
            let healedPosting = hold.isPostingWide && input.postingHold == nil
            if !edited && !healedPosting, let reason = HoldReason(rawValue: hold.reason) {
                return .hold(input.postingHold ?? reason, trigger: trigger)
            }
            return contact(input, trigger: trigger)
        }
        guard let window = input.window else { return .notDue(.outsideWindow) }
        let inWindow = triggers.filter(window.contains)
        guard !inWindow.isEmpty else { return .notDue(.outsideWindow) }
        let due = input.backfill ? inWindow : inWindow.filter { t in periods.contains { $0.contains(t) } }
        guard let trigger = due.max() else {
            if let first = periods.map(\.start).min(), inWindow.allSatisfy({ $0 < first }) {
                return .notDue(.beforeTaggingPeriod)
            }
            return periods.isEmpty ? .notDue(.beforeTaggingPeriod) : .notDue(.outsideTaggingPeriod)
        }
        if opportunity.isArchived { return .notDue(.archived) }
        return contact(input, trigger: trigger)
    }

    /// The contact rules of a due candidate, with its trigger, as an eligibility.
    static func contact(_ input: EligibilityInput, trigger: Millis?) -> Eligibility {
        switch contact(input.opportunity, postingHold: input.postingHold, now: input.now) {
        case .invite(let candidate): .invite(candidate, trigger: trigger ?? input.now)
        case .hold(let reason): .hold(reason, trigger: trigger)
        }
    }

    /// The contact rules of a candidate who is due: a posting-wide cause first, then data protection, e-mail and name.
    /// The pass and the settling of an unconfirmed invitation both ask this.
    public static func contact(_ candidacy: Candidacy, postingHold: HoldReason?, now: Millis) -> ContactVerdict {
        if let cause = postingHold { return .hold(cause) }
        if candidacy.contactPermissionUnreadable { return .hold(.contactPermissionUnreadable) }
        if candidacy.contactAllowed == false { return .hold(.contactForbidden) }
        if let expires = candidacy.contactExpiresAt, expires < now { return .hold(.contactForbidden) }
        guard let email = candidacy.emails.first?.trimmingCharacters(in: .whitespaces), !email.isEmpty else {
            return .hold(.missingEmail)
        }
        let name = (candidacy.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { return .hold(.missingName) }
        let split = HubertCandidate.splitName(name)
        return .invite(
            HubertCandidate(
                firstName: split.first, lastName: split.last, email: email, phoneNumber: candidacy.phones.first))
    }

    /// A held-back candidate's problem message: who, why, and what to do (`Problem.held` carries it).
    public static func holdMessage(opportunityId: String, reason: HoldReason) -> String {
        "opportunity \(opportunityId) is held back: \(reason.advice)"
    }
}

extension Problem {
    /// A held-back candidate's problem: the reason in words and what to fix (`detail`: what the service said), the
    /// candidate's name for this pass's report, and the link to the candidate in Lever.
    public static func held(_ opportunity: Candidacy, postingId: String, reason: HoldReason, detail: String? = nil)
        -> Problem
    {
        Problem(
            opportunityId: opportunity.id, postingId: postingId, reason: reason.rawValue,
            message: Planner.holdMessage(opportunityId: opportunity.id, reason: reason)
                + (detail.map { " (\($0))" } ?? ""),
            candidate: opportunity.name, url: opportunity.profileURL)
    }
}

/// One (opportunity, template) pair: the unit the ledger invites once, ever, and holds back.
public struct InvitationKey: Sendable, Hashable {
    public var opportunityId: String
    public var templateId: String
    public init(opportunityId: String, templateId: String) {
        self.opportunityId = opportunityId
        self.templateId = templateId
    }
}
