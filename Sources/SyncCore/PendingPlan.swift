import Foundation

/// Everything a pass has observed about one invitation an earlier pass intended and never saw confirmed, gathered
/// step by step: `Planner.pendingInvitation` says what it still needs (Hubert's interview, then the candidacy).
public struct ObservedPending: Sendable, Equatable {
    public var opportunityId: String
    public var postingId: String
    public var templateId: String
    /// When the intent was recorded, and how many passes have failed to settle it.
    public var createdAt: Millis
    public var attempts: Int
    /// Hubert's interview for the pair: nil until asked, `.some(nil)` once Hubert answered that it has none.
    public var interview: HubertInterview??
    /// The posting could not be read in this pass: its tag says nothing, and the intent waits.
    public var postingUnreadable = false
    /// Why the posting can no longer be invited for (its tag, or its template at Hubert); nil while it can.
    public var postingRefusal: PostingRefusal?
    /// The candidacy as the ATS shows it now: nil until read, `.some(nil)` once the ATS answered that it has none.
    public var candidacy: Candidacy??

    public init(opportunityId: String, postingId: String, templateId: String, createdAt: Millis, attempts: Int) {
        self.opportunityId = opportunityId
        self.postingId = postingId
        self.templateId = templateId
        self.createdAt = createdAt
        self.attempts = attempts
    }
}

/// Why a posting can no longer be invited for, in a recruiter's words.
public struct PostingRefusal: Sendable, Equatable {
    public var reason: ProblemReason
    public var why: String
    public init(_ reason: ProblemReason, _ why: String) {
        self.reason = reason
        self.why = why
    }
}

/// The clock and horizon a settling pass decides by.
public struct SettleRules: Sendable, Equatable {
    public var now: Millis
    public var giveUpDays: Int
    /// The clock was found out of step in this pass: nothing is given up on its word.
    public var skewed: Bool
    public init(now: Millis, giveUpDays: Int, skewed: Bool) {
        self.now = now
        self.giveUpDays = giveUpDays
        self.skewed = skewed
    }
}

/// What a pass does about one unconfirmed invitation: the whole decision, in the order the rules ask.
public enum PendingPlan: Sendable, Equatable {
    /// Ask Hubert whether the invitation exists.
    case readBack
    /// Hubert has it: the ledger records it as sent.
    case confirm(HubertInterview)
    /// Nothing can be concluded in this pass (the posting could not be read).
    case wait
    /// It can never be sent: the intent is closed under `reason` and reported (`skipped`: counted as skipped, not
    /// failed — the candidate is archived or anonymized).
    case close(reason: String, why: String, skipped: Bool)
    /// Read the candidacy before deciding.
    case readCandidacy
    /// The ATS no longer has the candidacy: nothing of it stays.
    case forget
    /// Hubert has no interview and the cause can be fixed: the intent is withdrawn and the candidate held, so that the
    /// fixed candidate is invited once.
    case hold(HoldReason)
    /// Send it now, under the intent already recorded.
    case send(HubertCandidate)
}

extension Planner {
    /// The one decision about an unconfirmed invitation. Called again with more observed each time it asks to read.
    public static func pendingInvitation(_ observed: ObservedPending, rules: SettleRules) -> PendingPlan {
        guard let interview = observed.interview else { return .readBack }
        if let interview { return .confirm(interview) }
        if observed.postingUnreadable { return .wait }
        if let refusal = observed.postingRefusal {
            return .close(reason: refusal.reason.rawValue, why: refusal.why, skipped: false)
        }
        // Given up only after both the horizon and several real tries on different passes: a pause, an outage of this
        // tool or a forward clock step alone gives nothing up (the intent is simply sent now).
        if givesUp(
            since: observed.createdAt, attempts: observed.attempts, now: rules.now,
            giveUpMs: Millis(rules.giveUpDays) * 86_400_000, skewed: rules.skewed)
        {
            return .close(
                reason: ProblemReason.invitationGivenUp.rawValue,
                why: "unconfirmed for more than \(rules.giveUpDays) days and \(observed.attempts) tries", skipped: false
            )
        }
        guard let read = observed.candidacy else { return .readCandidacy }
        guard let candidacy = read else { return .forget }
        if candidacy.isArchived {
            return .close(
                reason: ProblemReason.opportunityArchived.rawValue, why: "the candidate is archived", skipped: true)
        }
        if candidacy.isAnonymized {
            return .close(
                reason: ProblemReason.opportunityAnonymized.rawValue, why: "the candidate is anonymized", skipped: true)
        }
        switch contact(candidacy, postingHold: nil, now: rules.now) {
        case .invite(let candidate): return .send(candidate)
        case .hold(let reason): return .hold(reason)
        }
    }
}
