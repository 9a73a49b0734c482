import Foundation

/// One tagged posting's funnel, as `status --json` shows it under `funnel`: who applied, who was invited, who
/// finished, how they graded, and how fast invitations went out. Every number comes from the ledger.
///
/// The counts (see `docs/cli.md` and `docs/operations.md`, "The funnel"):
/// - `applied`: rows of `applicant` for the (posting, template): opportunities that applied to, or entered New
///   applicant on, the posting after it was first seen with its tag, as the tool saw them — invited or not
///   (archived, opted out, without an e-mail address all count).
/// - `invited`: invitations Hubert confirmed (`invitation.state = 'sent'`).
/// - `completed`: results written back (`applied_result`, joined to the invitation by `interview_id`).
/// - `lead`, `passed`, `notQualified`: the grades that stand now (a regrade replaces the earlier grade).
/// - `inviteLatencySeconds`: from the application's creation in Lever to Hubert's confirmation, over the sent
///   invitations that have both times; `null` when there is none.
///
/// With a cohort start (`status --since`), every number counts only applications created at or after it
/// (`applicant.applied_ms`, `invitation.applied_ms`; where Lever gave no application time, when the tool first
/// saw the applicant or recorded the invitation).
public struct FunnelEntry: Codable, Sendable, Equatable {
    /// The invitation latency's percentiles, in seconds (nearest-rank, see `FunnelPercentile`).
    public struct Latency: Codable, Sendable, Equatable {
        /// The median: half of the invitations went out at least this fast.
        public var p50: Double
        /// 95 % of the invitations went out at least this fast.
        public var p95: Double
        /// The percentiles of `seconds` (any order); nil when it is empty.
        public init?(seconds: [Double]) {
            let sorted = seconds.sorted()
            guard let p50 = FunnelPercentile.nearestRank(sorted, 50),
                let p95 = FunnelPercentile.nearestRank(sorted, 95)
            else { return nil }
            self.p50 = p50
            self.p95 = p95
        }
    }

    /// Open problems of one reason on the posting: the posting's own, or its applicants'.
    public struct OpenProblem: Codable, Sendable, Equatable {
        /// The problem's reason code (`missing_email`, `template_inactive` …).
        public var reason: String
        /// `posting` for a problem of the posting itself, `opportunity` for its applicants'.
        public var scope: String
        /// How many rows: candidates for `opportunity`, 1 for `posting`.
        public var count: Int
        /// A problem count of one reason and scope.
        public init(reason: String, scope: String, count: Int) {
            self.reason = reason
            self.scope = scope
            self.count = count
        }
        /// What a recruiter reads for it (no reason codes, no ids).
        public var sentence: String {
            FunnelWords.sentence(reason: reason, postingLevel: scope == "posting", count: count)
        }
    }

    /// The Lever posting id.
    public var postingId: String
    /// The posting's title as Lever last gave it (a job's name); nil (JSON `null`) when not known yet.
    @ExplicitNull public var postingName: String?
    /// The Hubert interview template of the posting's tag.
    public var templateId: String
    /// Opportunities that applied, as the tool saw them.
    public var applied: Int
    /// Invitations Hubert confirmed.
    public var invited: Int
    /// Results written back to Lever.
    public var completed: Int
    /// Standing grades: Lead.
    public var lead: Int
    /// Standing grades: Passed.
    public var passed: Int
    /// Standing grades: Not Qualified.
    public var notQualified: Int
    /// p50/p95 of the invitation latency in seconds; nil (JSON `null`) without invitations that have both times.
    @ExplicitNull public var inviteLatencySeconds: Latency?
    /// Open problems of the posting and its applicants, by reason (not narrowed by a cohort start).
    public var openProblems: [OpenProblem]

    /// A funnel entry; the counts default to zero.
    public init(
        postingId: String, postingName: String?, templateId: String, applied: Int = 0, invited: Int = 0,
        completed: Int = 0, lead: Int = 0, passed: Int = 0, notQualified: Int = 0,
        inviteLatencySeconds: Latency? = nil, openProblems: [OpenProblem] = []
    ) {
        self.postingId = postingId
        self.postingName = postingName
        self.templateId = templateId
        self.applied = applied
        self.invited = invited
        self.completed = completed
        self.lead = lead
        self.passed = passed
        self.notQualified = notQualified
        self.inviteLatencySeconds = inviteLatencySeconds
        self.openProblems = openProblems
    }
}

/// The percentile rule of the funnel: nearest rank. The p-th percentile of n sorted values is the value at rank
/// ⌈p/100 · n⌉ (1-based, at least 1): always one of the values, never interpolated. For 1, 2, 3, 4: p50 = 2,
/// p95 = 4.
public enum FunnelPercentile {
    /// The `p`-th percentile (0 < p ≤ 100) of `sorted` (ascending) by nearest rank; nil when it is empty.
    public static func nearestRank(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        // Integer arithmetic on the rank where possible, so that 95 % of 20 is rank 19 and not 19.000000000000004.
        let exact = p * Double(sorted.count) / 100
        let rounded = exact.rounded()
        let rank = abs(exact - rounded) < 1e-9 ? Int(rounded) : Int(exact.rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}

/// The recruiter's words for problem reasons: what happened to whom, without codes or ids.
enum FunnelWords {
    /// "1 candidate has" / "3 candidates have".
    static func candidates(_ n: Int, _ singular: String, _ plural: String) -> String {
        n == 1 ? "1 candidate \(singular)" : "\(n) candidates \(plural)"
    }

    /// One sentence for `count` problems of `reason`.
    static func sentence(reason: String, postingLevel: Bool, count n: Int) -> String {
        let spoken = reason.replacingOccurrences(of: "_", with: " ")
        if postingLevel { return postingSentences[reason] ?? "The posting needs a look (\(spoken))." }
        if let words = candidateSentences[reason] { return candidates(n, words.one, words.many) + words.rest }
        if reason == "write_back_given_up" {
            return n == 1
                ? "The result of 1 candidate could not be written to Lever and is no longer tried."
                : "The results of \(n) candidates could not be written to Lever and are no longer tried."
        }
        if reason.hasPrefix("undecodable_") {
            return candidates(n, "could", "could") + " not be read from Lever or Hubert."
        }
        if reason.hasPrefix("hubert_") {
            return candidates(n, "was", "were") + " refused by Hubert when invited; not retried."
        }
        return candidates(n, "needs", "need") + " a look (\(spoken))."
    }

    /// The sentence for a problem of the posting itself, by reason.
    static let postingSentences: [String: String] = [
        "invalid_hubert_tag": "The posting's Hubert tag is malformed; fix the tag in Lever.",
        "multiple_hubert_tags": "The posting carries several Hubert tags; keep exactly one.",
        "unknown_template": "Hubert does not know the interview the posting's tag names; fix the tag.",
        "template_inactive": "The posting's Hubert interview is archived; reactivate it in Hubert.",
        "template_forbidden": "The Hubert account may not use the posting's interview.",
        "posting_not_tagged": "The posting no longer carries a valid Hubert tag.",
    ]

    /// The sentence for applicants' problems, by reason: its verb for one candidate and for several, and the rest.
    static let candidateSentences: [String: (one: String, many: String, rest: String)] = {
        let unusable = ("was", "were", " not invited because the posting's Hubert interview cannot be used.")
        return [
            "missing_email": (
                "has", "have",
                " no e-mail address in Lever, so Hubert cannot invite them: add it and the next run invites them."
            ),
            "missing_name": (
                "has", "have",
                " no name in Lever; Hubert needs at least a first name: add it and the next run invites them."
            ),
            "invalid_email": (
                "has", "have",
                " an e-mail address Hubert refused as invalid: correct it in Lever and the next run invites them."
            ),
            "contact_forbidden": (
                "does", "do",
                " not allow contact in Lever's data-protection settings: once consent is renewed the next run invites them."
            ),
            "contact_permission_unreadable": (
                "has", "have",
                " data-protection settings that cannot be read as a yes or no: correct the consent in Lever."
            ),
            "template_not_found": (
                "waits", "wait", " because Hubert does not know the posting's interview: fix the tag or the template."
            ),
            "hold_given_up": (
                "was", "were",
                " held back longer than sync.holdDays and given up: a backfill can still invite them once fixed."
            ),
            "opportunity_forbidden": ("is", "are", " hidden from the sync by Lever (confidential, or a permission)."),
            "invitation_unconfirmed": (
                "has an invitation", "have invitations", " not confirmed yet; the next run checks."
            ),
            "invitation_given_up": (
                "has an invitation", "have invitations", " never confirmed, and no longer tried: check them in Hubert."
            ),
            "opportunity_archived": ("was", "were", " archived before the invitation went out; not invited."),
            "opportunity_anonymized": ("was", "were", " anonymized before the invitation went out; not invited."),
            "opportunity_contact_not_allowed": (
                "asked", "asked", " not to be contacted before the invitation went out; not invited."
            ),
            "template_inactive": (
                "waits", "wait",
                " because the posting's Hubert interview is not active: reactivate it and the next run invites them."
            ),
            "template_forbidden": unusable,
            "posting_not_tagged": unusable,
            "unknown_template": unusable,
            "write_back_failed": ("has a result", "have results", " not yet written to Lever; tried again every run."),
            "note_unconfirmed": (
                "has a result note", "have result notes", " not confirmed yet; the next run checks."
            ),
            "unknown_grade": ("has", "have", " a grade this version of the sync does not know: upgrade it."),
        ]
    }()
}
