import Foundation

/// The Hubert REST API of docs/hubert-api.md, behind one seam: the day Hubert publishes its real API only
/// this adapter changes. Invitations carry an Idempotency-Key, so sending one again never emails twice.
public struct HubertClient: Sendable {
    let http: ServiceClient
    let baseURL: String

    public init(http: ServiceClient, baseURL: String) {
        var base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        if !base.hasSuffix("/v1") { base += "/v1" }
        self.http = http
        self.baseURL = base
    }

    /// The key of the one invitation per (opportunity, template): deterministic, so every retry and every later
    /// pass sends the same key.
    public static func idempotencyKey(opportunityId: String, templateId: String) -> String {
        "lever-hubert-sync:invite:\(opportunityId):\(templateId)"
    }

    /// The key of an invitation for a corrected candidate, once Hubert kept the pair's key for a body it refused:
    /// derived from the candidate as sent, so that a repeat of the same corrected body is still deduplicated.
    public static func idempotencyKey(opportunityId: String, templateId: String, candidate: HubertCandidate) throws
        -> String
    {
        let body = String(decoding: try sortedEncoder.encode(candidate), as: UTF8.self)
        return idempotencyKey(opportunityId: opportunityId, templateId: templateId) + "-"
            + Planner.fingerprintHash(body)
    }

    /// Stable output for equal values (sorted keys): the invitation's body, and what a derived key hashes.
    static var sortedEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// GETs and decodes (`ServiceClient.getDecoded`: a body that does not parse is fetched again). Hubert's reads
    /// answer questions the ledger acts on (is this template usable, was this candidate invited): an unreadable
    /// answer is no answer — for one item an `APIError` with `noAnswer`, which every caller treats as "ask again next
    /// pass" (the intent stays pending, the result due, the template unknown), never as an answer.
    fileprivate func get<T: Decodable>(_ type: T.Type, _ pathAndQuery: String, scope: RequestScope = .pass) async throws
        -> T
    {
        try await http.getDecoded(
            T.self, url: baseURL + pathAndQuery, what: String(pathAndQuery.prefix { $0 != "?" }), scope: scope)
    }

    fileprivate static func segment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: QueryString.unreserved) ?? id
    }

    /// A template, or nil when Hubert does not know it (404). A template this key may not use throws an `APIError`
    /// with status 403 (a problem for the postings tagged with it, not for the pass).
    public func template(id: String) async throws -> HubertTemplate? {
        try await nilOn404 {
            try await get(
                HubertEnvelope<HubertTemplate>.self, "/interview-templates/\(Self.segment(id))", scope: .item
            ).data
        }
    }

    /// Sends an invitation (safe to repeat with the same key and body). Returns the interview and whether it was
    /// created now (201) rather than found under the key (200).
    public func invite(
        templateId: String, candidate: HubertCandidate, reference: HubertExternalReference,
        idempotencyKey: String
    ) async throws -> (interview: HubertInterview, created: Bool) {
        struct Body: Encodable {
            var templateId: String
            var candidate: HubertCandidate
            var externalReference: HubertExternalReference
        }
        let body = try Self.sortedEncoder.encode(
            Body(templateId: templateId, candidate: candidate, externalReference: reference))
        let request = HTTPRequestMessage(
            method: .post, url: baseURL + "/interviews",
            headers: [(name: "Idempotency-Key", value: idempotencyKey)], body: body)
        let response = try await http.send(request, mode: .idempotent, scope: .item)
        guard let envelope = try? JSONDecoder().decode(HubertEnvelope<HubertInterview>.self, from: response.body) else {
            throw MaybeAppliedError(service: .hubert, reason: "unreadable invitation response")
        }
        return (envelope.data, response.status == 201)
    }

    /// Interviews by filter, page by page, ordered by (updatedAt, id).
    public func forEachInterviewPage(
        updatedSince: Millis? = nil, statuses: [String] = [], opportunityId: String? = nil,
        scope: RequestScope = .pass,
        _ handle: ([Decoded<HubertInterview>]) async throws -> Void
    ) async throws {
        var base = QueryString()
        if let updatedSince { base.add("updatedSince", RFC3339.format(updatedSince)) }
        for status in statuses { base.add("status", status) }
        if let opportunityId { base.add("opportunityId", opportunityId) }
        base.add("limit", "100")
        try await walkPages(
            service: .hubert, what: "/interviews", scope: scope,
            isStale: { $0.status == 400 && $0.code == "invalid_cursor" },
            fetch: { cursor in
                var query = base
                if let cursor { query.add("cursor", cursor) }
                return try await get(HubertInterviewPage.self, "/interviews?" + query.encoded, scope: scope)
            },
            handle: { page in
                try await handle(page.data)
                return page.nextCursor
            })
    }

    /// Every interview for one opportunity (read-back of an invitation whose outcome is unknown).
    public func interviews(opportunityId: String) async throws -> [HubertInterview] {
        var found: [HubertInterview] = []
        try await forEachInterviewPage(opportunityId: opportunityId, scope: .item) { page in
            found += page.compactMap { if case .value(let v) = $0 { v } else { nil } }
        }
        return found
    }
}

extension HubertClient {
    /// One interview by id; nil on 404.
    public func interview(id: String) async throws -> HubertInterview? {
        try await nilOn404 {
            try await get(HubertEnvelope<HubertInterview>.self, "/interviews/\(Self.segment(id))", scope: .item).data
        }
    }
}
