/// A problem found in a pass, for `--json` and `status`. `reason` is a `ProblemReason`'s raw value, or the code
/// Hubert gave when it refused an invitation for good (`invalid_email`, `hubert_<status>`).
public struct Problem: Sendable, Hashable, Codable {
    public var opportunityId: String?
    public var postingId: String?
    public var reason: String
    public var message: String
    /// The candidate's name as Lever gives it, for the recruiter reading this pass's report (never stored).
    public var candidate: String?
    /// Where a recruiter fixes it: the candidate's page in Lever.
    public var url: String?
    /// Since when this item has had this problem (RFC 3339): the first pass that reported it, as the store keeps it.
    /// Set on the pass's report, after the pass.
    public var failingSince: String?
    public init(
        opportunityId: String? = nil, postingId: String? = nil, reason: String, message: String,
        candidate: String? = nil, url: String? = nil
    ) {
        self.opportunityId = opportunityId
        self.postingId = postingId
        self.reason = reason
        self.message = message
        self.candidate = candidate
        self.url = url
    }

    public init(opportunityId: String? = nil, postingId: String? = nil, reason: ProblemReason, message: String) {
        self.init(opportunityId: opportunityId, postingId: postingId, reason: reason.rawValue, message: message)
    }
}

/// Every reason the tool itself gives for a problem; each is explained, with what to do, in `docs/operations.md`
/// (a test keeps the two in step).
public enum ProblemReason: String, Sendable, CaseIterable, Codable {
    // A posting's tag or template.
    case invalidHubertTag = "invalid_hubert_tag"
    case multipleHubertTags = "multiple_hubert_tags"
    case unknownTemplate = "unknown_template"
    case templateInactive = "template_inactive"
    case templateForbidden = "template_forbidden"
    case postingNotTagged = "posting_not_tagged"
    // An invitation.
    case missingEmail = "missing_email"
    case missingName = "missing_name"
    case opportunityForbidden = "opportunity_forbidden"
    case invitationUnconfirmed = "invitation_unconfirmed"
    case invitationGivenUp = "invitation_given_up"
    case opportunityArchived = "opportunity_archived"
    case opportunityAnonymized = "opportunity_anonymized"
    case opportunityContactNotAllowed = "opportunity_contact_not_allowed"
    case contactPermissionUnreadable = "contact_permission_unreadable"
    // A result's write-back.
    case writeBackFailed = "write_back_failed"
    case noteUnconfirmed = "note_unconfirmed"
    case writeBackGivenUp = "write_back_given_up"
    case unknownGrade = "unknown_grade"
    case invalidReference = "invalid_reference"
    // A held-back candidate (the causes a later edit can change are `HoldReason`s).
    case invalidEmail = "invalid_email"
    case contactForbidden = "contact_forbidden"
    case templateNotFound = "template_not_found"
    case postingTagMalformed = "posting_tag_malformed"
    case holdGivenUp = "hold_given_up"
    // An item that cannot be read.
    case undecodablePosting = "undecodable_posting"
    case undecodableOpportunity = "undecodable_opportunity"
    case undecodableInterview = "undecodable_interview"
}
