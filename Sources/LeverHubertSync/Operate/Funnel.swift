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
    /// The posting's title as Lever last gave it (a job's name); nil when not known yet.
    public var postingName: String?
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
    public var inviteLatencySeconds: Latency?
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

    enum CodingKeys: String, CodingKey {
        case postingId, postingName, templateId, applied, invited, completed, lead, passed, notQualified
        case inviteLatencySeconds, openProblems
    }

    /// As `docs/cli.md` shows it: `postingName` and `inviteLatencySeconds` present as `null` when absent.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(postingId, forKey: .postingId)
        try c.encode(postingName, forKey: .postingName)
        try c.encode(templateId, forKey: .templateId)
        try c.encode(applied, forKey: .applied)
        try c.encode(invited, forKey: .invited)
        try c.encode(completed, forKey: .completed)
        try c.encode(lead, forKey: .lead)
        try c.encode(passed, forKey: .passed)
        try c.encode(notQualified, forKey: .notQualified)
        try c.encode(inviteLatencySeconds, forKey: .inviteLatencySeconds)
        try c.encode(openProblems, forKey: .openProblems)
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
        if postingLevel {
            switch reason {
            case "invalid_hubert_tag": return "The posting's Hubert tag is malformed; fix the tag in Lever."
            case "multiple_hubert_tags": return "The posting carries several Hubert tags; keep exactly one."
            case "unknown_template": return "Hubert does not know the interview the posting's tag names; fix the tag."
            case "template_inactive": return "The posting's Hubert interview is archived; reactivate it in Hubert."
            case "template_forbidden": return "The Hubert account may not use the posting's interview."
            case "posting_not_tagged": return "The posting no longer carries a valid Hubert tag."
            default: return "The posting needs a look (\(reason.replacingOccurrences(of: "_", with: " ")))."
            }
        }
        switch reason {
        case "missing_email":
            return candidates(n, "has", "have")
                + " no e-mail address in Lever, so Hubert cannot invite them: add it and the next run invites them."
        case "missing_name":
            return candidates(n, "has", "have")
                + " no name in Lever; Hubert needs at least a first name: add it and the next run invites them."
        case "invalid_email":
            return candidates(n, "has", "have")
                + " an e-mail address Hubert refused as invalid: correct it in Lever and the next run invites them."
        case "contact_forbidden":
            return candidates(n, "does", "do")
                + " not allow contact in Lever's data-protection settings: once consent is renewed the next run invites them."
        case "contact_permission_unreadable":
            return candidates(n, "has", "have")
                + " data-protection settings that cannot be read as a yes or no: correct the consent in Lever."
        case "template_not_found":
            return candidates(n, "waits", "wait")
                + " because Hubert does not know the posting's interview: fix the tag or the template."
        case "hold_given_up":
            return candidates(n, "was", "were")
                + " held back longer than sync.holdDays and given up: a backfill can still invite them once fixed."
        case "opportunity_forbidden":
            return candidates(n, "is", "are") + " hidden from the sync by Lever (confidential, or a permission)."
        case "invitation_unconfirmed":
            return candidates(n, "has an invitation", "have invitations") + " not confirmed yet; the next run checks."
        case "invitation_given_up":
            return candidates(n, "has an invitation", "have invitations")
                + " never confirmed, and no longer tried: check them in Hubert."
        case "opportunity_archived":
            return candidates(n, "was", "were") + " archived before the invitation went out; not invited."
        case "opportunity_anonymized":
            return candidates(n, "was", "were") + " anonymized before the invitation went out; not invited."
        case "opportunity_contact_not_allowed":
            return candidates(n, "asked", "asked") + " not to be contacted before the invitation went out; not invited."
        case "template_inactive":
            return candidates(n, "waits", "wait")
                + " because the posting's Hubert interview is not active: reactivate it and the next run invites them."
        case "template_forbidden", "posting_not_tagged", "unknown_template":
            return candidates(n, "was", "were") + " not invited because the posting's Hubert interview cannot be used."
        case "write_back_failed":
            return candidates(n, "has a result", "have results") + " not yet written to Lever; tried again every run."
        case "note_unconfirmed":
            return candidates(n, "has a result note", "have result notes") + " not confirmed yet; the next run checks."
        case "write_back_given_up":
            return n == 1
                ? "The result of 1 candidate could not be written to Lever and is no longer tried."
                : "The results of \(n) candidates could not be written to Lever and are no longer tried."
        case "unknown_grade":
            return candidates(n, "has", "have") + " a grade this version of the sync does not know: upgrade it."
        case let other where other.hasPrefix("undecodable_"):
            return candidates(n, "could", "could") + " not be read from Lever or Hubert."
        case let other where other.hasPrefix("hubert_"):
            return candidates(n, "was", "were") + " refused by Hubert when invited; not retried."
        default:
            return candidates(n, "needs", "need") + " a look (\(reason.replacingOccurrences(of: "_", with: " ")))."
        }
    }
}
