/// A problem found in a pass, for `--json` and `status`.
public struct Problem: Sendable, Equatable, Codable {
    public var opportunityId: String?
    public var postingId: String?
    public var reason: String
    public var message: String
    public init(opportunityId: String? = nil, postingId: String? = nil, reason: String, message: String) {
        self.opportunityId = opportunityId
        self.postingId = postingId
        self.reason = reason
        self.message = message
    }
}
