import Foundation

/// Filters for `GET /opportunities` as the pass uses them. Bounds are integer milliseconds, inclusive, as Lever
/// defines them.
public struct OpportunityFilter: Sendable, Equatable {
    public var postingIds: [String] = []
    /// `updated_at_start` alone: every opportunity changed since then (a new application, a stage move, any edit).
    public var updatedSince: Millis?
    /// Only what the pass reads: the application (for its posting). The stage stays an id.
    public var expand: [String] = ["applications"]
    public init() {}
}

/// The Lever v1 Data API, as far as this tool uses it. Reads page with opaque offset tokens; writes carry `perform_as`.
/// Tags, links and stage moves have set semantics and are safe to repeat; creating a note is not.
public struct LeverClient: Sendable {
    let http: ServiceClient
    let baseURL: String

    public init(http: ServiceClient, baseURL: String) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    private func url(_ path: String, _ query: QueryString) -> String {
        query.isEmpty ? baseURL + path : baseURL + path + "?" + query.encoded
    }

    private static func pathSegment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: QueryString.unreserved) ?? id
    }

    private func getJSON<T: Decodable>(
        _ type: T.Type, _ path: String, _ query: QueryString,
        scope: RequestScope = .pass
    ) async throws -> T {
        try await http.getDecoded(T.self, url: url(path, query), what: path, scope: scope)
    }

    /// Pages through a list, calling `handle` for each page as it arrives (memory stays flat). On a stale offset
    /// token ("Invalid offset token") the list restarts from its first page (`walkPages`). A page that says `hasNext`
    /// but gives no `next` token is malformed: fetched again, then the pass stops (exit 75) rather than ending the
    /// list early and moving the checkpoint past what it never read.
    public func forEachPage<T: Decodable & Sendable>(
        _ path: String, query base: QueryString, as: T.Type, scope: RequestScope = .pass,
        _ handle: (LeverPage<T>) async throws -> Void
    ) async throws {
        try await walkPages(
            service: .lever, what: path, scope: scope,
            isStale: { $0.status == 400 && ($0.message ?? "").lowercased().contains("offset") },
            fetch: { offset in
                var query = base
                if let offset { query.addToken("offset", offset) }
                var truncated = 0
                while true {
                    let page = try await getJSON(LeverPage<T>.self, path, query, scope: scope)
                    guard page.hasNext && (page.next ?? "").isEmpty else { return page }
                    truncated += 1
                    if truncated > ServiceClient.malformedRetries {
                        throw malformedPage(service: .lever, what: path, scope: scope, "hasNext without next")
                    }
                }
            },
            handle: { page in
                try await handle(page)
                return page.hasNext ? page.next : nil
            })
    }

    /// Every posting (any state, confidential included where the key may see them); with `updatedSince`, only the
    /// postings changed since then. Lever allows `updated_at_*` on postings beside `confidentiality` only, so that
    /// query carries nothing else.
    public func forEachPostingPage(
        updatedSince: Millis? = nil, _ handle: (LeverPage<LeverPosting>) async throws -> Void
    ) async throws {
        var query = QueryString()
        if let updatedSince {
            query.add("updated_at_start", String(updatedSince))
        } else {
            query.add("limit", "100")
        }
        query.add("confidentiality", "all")
        try await forEachPage("/postings", query: query, as: LeverPosting.self, handle)
    }

    /// Opportunities matching `filter`, page by page.
    public func forEachOpportunityPage(
        _ filter: OpportunityFilter,
        _ handle: (LeverPage<LeverOpportunity>) async throws -> Void
    ) async throws {
        var query = QueryString()
        query.add("limit", "100")
        for id in filter.postingIds { query.add("posting_id", id) }
        if let since = filter.updatedSince { query.add("updated_at_start", String(since)) }
        query.add("confidentiality", "all")
        for item in filter.expand { query.add("expand", item) }
        try await forEachPage("/opportunities", query: query, as: LeverOpportunity.self, handle)
    }

    /// One opportunity with applications and stage expanded; nil when Lever says it does not exist (404).
    public func opportunity(id: String) async throws -> LeverOpportunity? {
        var query = QueryString()
        query.add("expand", "applications")
        query.add("expand", "stage")
        return try await nilOn404 {
            try await getJSON(
                LeverEnvelope<LeverOpportunity>.self, "/opportunities/\(Self.pathSegment(id))", query, scope: .item
            ).data
        }
    }

    /// The applications of one opportunity (deprecated endpoint, still served): the fallback that finds an
    /// opportunity's posting when a Lever answer did not expand its applications.
    public func applications(opportunityId: String) async throws -> [LeverApplication] {
        var found: [LeverApplication] = []
        let listed: Void? = try await nilOn404 {
            try await forEachPage(
                "/opportunities/\(Self.pathSegment(opportunityId))/applications", query: QueryString(),
                as: LeverApplication.self, scope: .item
            ) { found += $0.items }
        }
        return listed == nil ? [] : found
    }

    /// The account's pipeline stages.
    public func stages() async throws -> [LeverStage] {
        var stages: [LeverStage] = []
        try await forEachPage("/stages", query: QueryString(), as: LeverStage.self) { stages += $0.items }
        return stages
    }

    /// Active users with this e-mail address.
    public func users(email: String) async throws -> [LeverUser] {
        var query = QueryString()
        query.add("email", email)
        var users: [LeverUser] = []
        try await forEachPage("/users", query: query, as: LeverUser.self) { users += $0.items }
        return users
    }

    /// One user by id; nil on 404.
    public func user(id: String) async throws -> LeverUser? {
        try await nilOn404 {
            try await getJSON(LeverEnvelope<LeverUser>.self, "/users/\(Self.pathSegment(id))", QueryString()).data
        }
    }

    /// Every note of an opportunity (used to find a note the sync wrote but did not see confirmed).
    public func notes(opportunityId: String) async throws -> [LeverNote] {
        var notes: [LeverNote] = []
        var query = QueryString()
        query.add("limit", "100")
        try await forEachPage(
            "/opportunities/\(Self.pathSegment(opportunityId))/notes", query: query,
            as: LeverNote.self, scope: .item
        ) { notes += $0.items }
        return notes
    }

    /// Opportunities deleted since `since` (ms).
    public func forEachDeletedPage(since: Millis, _ handle: (LeverPage<LeverDeletedOpportunity>) async throws -> Void)
        async throws
    {
        var query = QueryString()
        query.add("limit", "100")
        query.add("deleted_at_start", String(since))
        try await forEachPage("/opportunities/deleted", query: query, as: LeverDeletedOpportunity.self, handle)
    }

    private func write(
        _ method: HTTPMethod, _ path: String, performAs: String?, body: some Encodable & Sendable,
        mode: RetryMode = .idempotent, freshConnection: Bool = false
    ) async throws -> HTTPResponseMessage {
        var query = QueryString()
        if let performAs { query.add("perform_as", performAs) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(body)
        return try await http.send(
            HTTPRequestMessage(
                method: method, url: url(path, query), body: data,
                freshConnection: freshConnection),
            mode: mode, scope: .item)
    }

    /// Adds tags (set semantics: repeating is harmless).
    public func addTags(opportunityId: String, tags: [String], performAs: String?) async throws {
        _ = try await write(
            .post, "/opportunities/\(Self.pathSegment(opportunityId))/addTags", performAs: performAs,
            body: ["tags": tags])
    }

    /// Removes tags (set semantics).
    public func removeTags(opportunityId: String, tags: [String], performAs: String?) async throws {
        _ = try await write(
            .post, "/opportunities/\(Self.pathSegment(opportunityId))/removeTags", performAs: performAs,
            body: ["tags": tags])
    }

    /// Adds links to the opportunity's contact (set semantics).
    public func addLinks(opportunityId: String, links: [String], performAs: String?) async throws {
        _ = try await write(
            .post, "/opportunities/\(Self.pathSegment(opportunityId))/addLinks", performAs: performAs,
            body: ["links": links])
    }

    /// Moves the opportunity to a stage (`PUT …/stage`; repeating is harmless).
    public func moveStage(opportunityId: String, stageId: String, performAs: String?) async throws {
        _ = try await write(
            .put, "/opportunities/\(Self.pathSegment(opportunityId))/stage", performAs: performAs,
            body: ["stage": stageId],
            // A move replayed seconds later by libcurl could undo a human's move made in between.
            freshConnection: true)
    }

    /// Creates a note. **Not idempotent**: guard with the ledger; throws `MaybeAppliedError` when the outcome is unknown.
    public func addNote(opportunityId: String, text: String, performAs: String?) async throws -> String? {
        let response = try await write(
            .post, "/opportunities/\(Self.pathSegment(opportunityId))/notes", performAs: performAs,
            body: ["value": text], mode: .nonIdempotent)
        return (try? JSONDecoder().decode(LeverEnvelope<LeverCreatedNote>.self, from: response.body))?.data.noteId
    }
}
