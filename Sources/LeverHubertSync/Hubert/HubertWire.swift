import Foundation

/// One page of `GET /v1/interviews`.
public struct HubertInterviewPage: Decodable, Sendable {
    public var data: [Decoded<HubertInterview>]
    public var nextCursor: String?
}

/// `{data: …}` around a single Hubert object.
public struct HubertEnvelope<T: Decodable & Sendable>: Decodable, Sendable {
    public var data: T
}
