import Foundation
import LeverHubertSync

/// An in-memory Lever v1 API that behaves as Lever's v1 documentation says (hire.lever.co/developer/documentation): Basic auth with the key,
/// `{data, hasNext, next}` paging with opaque URL-encoded offset tokens, repeated filter keys, inclusive ms
/// windows, `expand`, set semantics for tags and links, `updatedAt` bumps, notes (201), stage moves, 429s.
public actor LeverSandbox: SandboxService {
    /// A posting in the sandbox.
    public struct Posting: Sendable {
        public var id: String
        public var text: String
        public var state: String = "published"
        public var tags: [String]
        public var createdAt: Millis
        public var updatedAt: Millis
    }

    /// An opportunity in the sandbox (one candidacy with its one application).
    public struct Opportunity: Sendable {
        public var id: String
        public var name: String?
        public var emails: [String]
        public var phones: [String]
        public var contact: String
        public var postingId: String?
        public var applicationId: String
        public var stage: String
        public var stageChanges: [(stage: String, at: Millis, userId: String?)]
        public var archivedAt: Millis?
        public var tags: [String]
        public var links: [String]
        public var createdAt: Millis
        public var updatedAt: Millis
        public var lastAdvancedAt: Millis
        public var contactAllowed: Bool?
        public var extra: [String: String] = [:]
    }

    /// A note in the sandbox.
    public struct Note: Sendable {
        public var id: String
        public var text: String
        public var userId: String?
        public var createdAt: Millis
    }

    public let apiKey: String
    public private(set) var postings: [String: Posting] = [:]
    public private(set) var opportunities: [String: Opportunity] = [:]
    public private(set) var notes: [String: [Note]] = [:]
    public private(set) var deleted: [(id: String, at: Millis)] = []
    public var stages: [LeverStage]
    public var users: [(id: String, name: String, email: String)]
    /// Requests received, as "METHOD /path" (query left out).
    public private(set) var requestLog: [String] = []
    /// The same requests with their query strings as sent ("GET /v1/postings?updated_at_start=…"), for tests that
    /// check which filters a read used.
    public private(set) var requestLines: [String] = []
    /// Raw JSON served instead of the rendered opportunity (hostile-input tests).
    private var rawOverrides: [String: Data] = [:]
    private var rateLimit: SandboxRateLimit?
    public var faults = SandboxFaults()
    private var lastMillis: Millis = 0
    /// Opportunity ids ordered by (createdAt, id), the paging order; rebuilt after additions.
    private var order: [(at: Millis, id: String)] = []
    private var orderDirty = false
    /// Lever's OAuth server (`GET /authorize`, `POST /oauth/token`) and the Bearer tokens it issued.
    public nonisolated let oauth = LeverOAuthSandbox()
    /// Token refreshes served by the OAuth endpoint.
    public var tokenRefreshes: Int { oauth.refreshes }

    public init(apiKey: String, rateLimit: (rate: Double, burst: Int)? = nil) {
        self.apiKey = apiKey
        self.rateLimit = rateLimit.map { SandboxRateLimit(rate: $0.rate, burst: $0.burst) }
        self.stages = [
            LeverStage(id: "lead-new", text: "New lead"),
            LeverStage(id: "lead-reached-out", text: "Reached out"),
            LeverStage(id: "applicant-new", text: "New applicant"),
            LeverStage(id: "9b1e0c3a-5d2f-4c7e-8a61-2f4d8c1b7e01", text: "Phone screen"),
            LeverStage(id: "4c2a7e19-0b3d-4f6a-9e85-7d1c3b2a6f02", text: "Onsite interview"),
            LeverStage(id: "offer", text: "Offer"),
        ]
        self.users = [(id: "0f1e2d3c-4b5a-4697-8877-665544332211", name: "Sync Bot", email: "sync-bot@example.com")]
    }

    // MARK: Control (tests and demo)

    /// The sandbox clock in ms (never goes backwards; never runs ahead of real time).
    public func now() -> Millis {
        lastMillis = max(Date().millis, lastMillis)
        return lastMillis
    }

    private func newId() -> String { UUID().uuidString.lowercased() }

    /// Adds a posting.
    @discardableResult
    public func addPosting(text: String, tags: [String], state: String = "published", id: String? = nil) -> String {
        let id = id ?? newId()
        let at = now()
        postings[id] = Posting(id: id, text: text, state: state, tags: tags, createdAt: at, updatedAt: at)
        return id
    }

    /// Replaces a posting's tags.
    public func setPostingTags(_ id: String, tags: [String]) {
        postings[id]?.tags = tags
        postings[id]?.updatedAt = now()
    }

    /// Adds an applicant to a posting (created now, in `stage`).
    @discardableResult
    public func addOpportunity(
        name: String?, emails: [String], posting: String?, stage: String = "applicant-new",
        phones: [String] = [], contactAllowed: Bool? = nil, archived: Bool = false,
        createdAt: Millis? = nil, id: String? = nil
    ) -> String {
        let id = id ?? newId()
        let at = createdAt ?? now()
        orderDirty = true
        opportunities[id] = Opportunity(
            id: id, name: name, emails: emails, phones: phones, contact: newId(), postingId: posting,
            applicationId: newId(),
            stage: stage, stageChanges: [(stage, at, nil)], archivedAt: archived ? at : nil, tags: [], links: [],
            createdAt: at, updatedAt: at, lastAdvancedAt: at, contactAllowed: contactAllowed)
        return id
    }

    /// Serves this raw JSON object for an opportunity id, in lists and single reads (hostile input).
    public func setRawOpportunity(_ id: String, json: Data, posting: String?, createdAt: Millis? = nil) {
        let at = createdAt ?? now()
        orderDirty = true
        if opportunities[id] == nil {
            opportunities[id] = Opportunity(
                id: id, name: nil, emails: [], phones: [], contact: newId(), postingId: posting,
                applicationId: newId(), stage: "applicant-new", stageChanges: [], archivedAt: nil,
                tags: [], links: [], createdAt: at, updatedAt: at, lastAdvancedAt: at, contactAllowed: nil)
        }
        rawOverrides[id] = json
    }

    /// Moves an opportunity as a human would (stage history grows, `updatedAt` moves); `at` backdates the move (a
    /// change Lever shows only some time after it happened).
    public func move(_ id: String, to stage: String, by userId: String? = nil, at time: Millis? = nil) {
        guard var opportunity = opportunities[id] else { return }
        let at = time ?? now()
        opportunity.stage = stage
        opportunity.stageChanges.append((stage, at, userId))
        opportunity.lastAdvancedAt = at
        opportunity.updatedAt = at
        opportunities[id] = opportunity
    }

    /// Tags an opportunity as a recruiter would (`updatedAt` moves, nothing else).
    public func tag(_ id: String, _ tag: String) {
        guard opportunities[id] != nil else { return }
        if !(opportunities[id]?.tags.contains(tag) ?? true) { opportunities[id]?.tags.append(tag) }
        opportunities[id]?.updatedAt = now()
    }

    /// Edits a candidate as a recruiter would (an e-mail added or corrected, consent renewed): `updatedAt` moves.
    public func edit(_ id: String, emails: [String]? = nil, contactAllowed: Bool?? = nil, name: String? = nil) {
        guard opportunities[id] != nil else { return }
        if let emails { opportunities[id]?.emails = emails }
        if let contactAllowed { opportunities[id]?.contactAllowed = contactAllowed }
        if let name { opportunities[id]?.name = name }
        opportunities[id]?.updatedAt = now()
    }

    /// Archives an opportunity.
    public func archive(_ id: String) {
        opportunities[id]?.archivedAt = now()
        opportunities[id]?.updatedAt = now()
    }

    /// Deletes an opportunity (it then shows under `/opportunities/deleted`).
    public func delete(_ id: String) {
        opportunities[id] = nil
        orderDirty = true
        deleted.append((id, now()))
    }

    /// Opportunities this key may not read or change (a confidential candidate): 403 on every request about them.
    public private(set) var forbiddenOpportunities: Set<String> = []
    public func setOpportunityForbidden(_ id: String, _ forbidden: Bool = true) {
        if forbidden { forbiddenOpportunities.insert(id) } else { forbiddenOpportunities.remove(id) }
    }

    /// Writes answered with an error status without being applied, by action (`addTags`, `removeTags`, `addLinks`,
    /// `notes`, `stage`).
    /// Every request about these opportunities (reads and writes) answered with this status: one opportunity
    /// Lever fails on for days. nil heals it.
    public private(set) var failingOpportunities: [String: Int] = [:]
    public func setOpportunityFailing(_ id: String, status: Int?) { failingOpportunities[id] = status }
    public private(set) var failingWrites: [String: Int] = [:]
    public func setWriteFailing(_ action: String, status: Int?) { failingWrites[action] = status }

    /// Users marked deactivated (`deactivatedAt` set).
    public private(set) var deactivatedUsers: Set<String> = []
    public func deactivateUser(_ id: String) { deactivatedUsers.insert(id) }

    /// When true, `expand` is ignored (applications and stage stay ids), like a Lever answer without expansion.
    public private(set) var ignoresExpand = false
    public func setIgnoresExpand(_ value: Bool) { ignoresExpand = value }

    /// Turns on the OAuth token endpoint (`POST /oauth/token`, refresh grant with rotation) and Bearer auth, with a
    /// grant made elsewhere (its refresh token).
    public func enableOAuth(clientId: String, clientSecret: String, refreshToken: String, accessTTLSeconds: Int = 3600)
    {
        oauth.configure(clientId: clientId, clientSecret: clientSecret, accessTTLSeconds: accessTTLSeconds)
        oauth.seed(refreshToken: refreshToken)
    }

    /// The refresh token the endpoint currently accepts (each refresh rotates it).
    public func currentRefreshToken() -> String? { oauth.currentRefreshToken }

    /// Makes every access token issued so far invalid (as after a revocation or expiry).
    public func expireAccessTokens() { oauth.expireAccessTokens() }

    private func authorized(_ header: String?) -> Bool {
        guard let header else { return false }
        if header == "Basic " + Data((apiKey + ":").utf8).base64EncodedString() { return true }
        if header.hasPrefix("Bearer ") { return oauth.isValid(accessToken: String(header.dropFirst(7)), now: now()) }
        return false
    }

    /// Adds or renames a stage.
    public func setStage(_ stage: LeverStage) {
        stages.removeAll { $0.id == stage.id }
        stages.append(stage)
    }

    /// Sets fault injection.
    public func setFaults(_ faults: SandboxFaults) { self.faults = faults }

    /// Sets or removes the rate limit.
    public func setRateLimit(_ limit: (rate: Double, burst: Int)?) {
        rateLimit = limit.map { SandboxRateLimit(rate: $0.rate, burst: $0.burst) }
    }

    /// Forgets the request log.
    public func clearLog() {
        requestLog.removeAll()
        requestLines.removeAll()
    }

    /// Notes on an opportunity.
    public func notesOf(_ id: String) -> [Note] { notes[id] ?? [] }

    /// One opportunity's state.
    public func opportunity(_ id: String) -> Opportunity? { opportunities[id] }

    // MARK: HTTP

    public func respond(_ request: SandboxRequest) async -> SandboxResponse {
        var response = route(request)
        if faults.latencyMs > 0 { response.delayMs += faults.latencyMs }
        return response
    }

    private func error(_ status: Int, _ code: String, _ message: String) -> SandboxResponse {
        .json(status, ["code": code, "message": message])
    }

    private func route(_ request: SandboxRequest) -> SandboxResponse {
        requestLog.append("\(request.method) \(request.path)")
        let query = request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        requestLines.append("\(request.method) \(request.path)" + (query.isEmpty ? "" : "?" + query))
        if request.method == "POST" && request.path == "/oauth/token" { return oauth.token(request, now: now()) }
        if request.method == "GET" && request.path == "/authorize" { return oauth.authorize(request) }
        guard authorized(request.headers["authorization"]) else {
            return error(401, "UnauthorizedError", "Invalid API key")
        }
        if faults.storm429 > 0 {
            faults.storm429 -= 1
            return .json(
                429, ["code": "TooManyRequests", "message": "Rate limit exceeded"],
                headers: faults.stormRetryAfter ? ["Retry-After": faults.stormRetryAfterValue] : [:])
        }
        if rateLimit?.take() != nil {
            return error(429, "TooManyRequests", "Rate limit exceeded")
        }
        if faults.serverErrorRate > 0 && Double.random(in: 0..<1) < faults.serverErrorRate {
            return error(503, "ServiceUnavailable", "Temporarily down for maintenance")
        }
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.first == "v1" else { return error(404, "ResourceNotFound", "Unknown path") }
        let rest = Array(parts.dropFirst())
        let isWrite = request.method != "GET"
        if rest.count >= 2, rest[0] == "opportunities", forbiddenOpportunities.contains(rest[1]) {
            return error(403, "ForbiddenError", "Your API key does not have access to this opportunity")
        }
        if rest.count >= 2, rest[0] == "opportunities", let status = failingOpportunities[rest[1]] {
            return error(status, "InternalServerError", "Something went wrong")
        }
        if isWrite, rest.count == 3, rest[0] == "opportunities", let status = failingWrites[rest[2]] {
            return error(status, "BadRequestError", "Write refused by the sandbox")
        }
        var response: SandboxResponse
        switch (request.method, rest.count, rest.first) {
        case ("GET", 1, "postings"): response = listPostings(request)
        case ("GET", 1, "opportunities"): response = listOpportunities(request)
        case ("GET", 2, "opportunities") where rest[1] == "deleted": response = listDeleted(request)
        case ("GET", 2, "opportunities"): response = getOpportunity(rest[1], request)
        case ("GET", 3, "opportunities") where rest[2] == "notes": response = listNotes(rest[1], request)
        case ("GET", 3, "opportunities") where rest[2] == "applications": response = listApplications(rest[1])
        case ("POST", 3, "opportunities"): response = writeOpportunity(rest[1], action: rest[2], request)
        case ("PUT", 3, "opportunities") where rest[2] == "stage": response = moveStage(rest[1], request)
        case ("GET", 1, "stages"):
            response = .json(200, ["data": stages.map { ["id": $0.id, "text": $0.text] }, "hasNext": false])
        case ("GET", 1, "users"): response = listUsers(request)
        case ("GET", 2, "users"): response = getUser(rest[1])
        case ("GET", 1, "tags"): response = listTags()
        default: response = error(404, "ResourceNotFound", "Unknown path or method")
        }
        if isWrite, (200..<300).contains(response.status), faults.lostResponseRate > 0,
            Double.random(in: 0..<1) < faults.lostResponseRate
        {
            response.delayMs += faults.lostResponseDelayMs
        }
        if !isWrite, response.status == 200, faults.malformedRate > 0, Double.random(in: 0..<1) < faults.malformedRate {
            response.body = Data("{\"data\": [{\"id\": ".utf8)
        }
        return response
    }

    /// The key an offset token stands for; nil when it is invalid or made stale by fault injection.
    private func offsetKey(_ request: SandboxRequest) -> (Millis, String)? {
        guard let offset = request.value("offset") else { return nil }
        if faults.staleTokens > 0 {
            faults.staleTokens -= 1
            return nil
        }
        guard let data = offset.data(using: .utf8), let array = try? JSONSerialization.jsonObject(with: data) as? [Any],
            array.count == 2, let at = (array[0] as? NSNumber)?.int64Value, let id = array[1] as? String
        else { return nil }
        return (at, id)
    }

    /// The token for the page after `key`: the URL-encoded JSON array `[createdAt,"id"]` (already encoded, as Lever's are).
    static func offsetToken(_ at: Millis, _ id: String) -> String {
        let raw = "[\(at),\"\(id)\"]"
        return raw.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? raw
    }

    // Paging: order by (createdAt, id); the token is a URL-encoded JSON array [createdAt, "id"], like real Lever's.
    private func page<T>(
        _ items: [T], key: (T) -> (Millis, String), request: SandboxRequest,
        render: (T) -> Any
    ) -> SandboxResponse {
        let limit = min(100, max(1, Int(request.value("limit") ?? "100") ?? 100))
        var sorted = items.sorted { key($0) < key($1) }
        if request.value("offset") != nil {
            guard let (at, id) = offsetKey(request) else {
                return error(400, "BadRequestError", "Invalid offset token")
            }
            sorted = sorted.filter { key($0) > (at, id) }
        }
        let slice = Array(sorted.prefix(limit))
        var body: [String: Any] = ["data": slice.map(render)]
        let hasNext = sorted.count > limit
        body["hasNext"] = hasNext
        if faults.truncatedPages > 0 {
            faults.truncatedPages -= 1
            body["hasNext"] = true
            return .json(200, body)
        }
        if hasNext, let last = slice.last {
            let (at, id) = key(last)
            body["next"] = Self.offsetToken(at, id)
        }
        return .json(200, body)
    }

    private func render(_ posting: Posting) -> Any {
        [
            "id": posting.id, "text": posting.text, "state": posting.state, "tags": posting.tags,
            "createdAt": posting.createdAt, "updatedAt": posting.updatedAt, "confidentiality": "non-confidential",
            "distributionChannels": ["public"], "categories": ["team": "Operations", "location": "Stockholm"],
            "urls": ["show": "https://jobs.lever.co/sandbox/\(posting.id)"],
        ] as [String: Any]
    }

    /// Filters of `GET /postings` that Lever does not allow beside `updated_at_*` (only `confidentiality` is).
    static let postingFilters = [
        "state", "distributionChannel", "group", "team", "department", "location", "commitment", "level", "tag",
    ]

    private func listPostings(_ request: SandboxRequest) -> SandboxResponse {
        let tags = Set(request.values("tag"))
        let states = Set(request.values("state"))
        guard let updated = range(request, "updated_at") else {
            return error(400, "BadRequestError", "Timestamps must be integer milliseconds")
        }
        if updated.0 != nil || updated.1 != nil, Self.postingFilters.contains(where: { request.value($0) != nil }) {
            return error(400, "BadRequestError", "updated_at filters can only be combined with confidentiality")
        }
        let items = postings.values.filter {
            (tags.isEmpty || !tags.isDisjoint(with: $0.tags)) && (states.isEmpty || states.contains($0.state))
                && Self.within($0.updatedAt, updated)
        }
        return page(items, key: { ($0.createdAt, $0.id) }, request: request, render: render)
    }

    /// A JSON string literal.
    static func q(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func q(_ text: String?) -> String { text.map { q($0) } ?? "null" }

    /// The opportunity as JSON text (written by hand: Foundation's JSONSerialization is ~20× slower on Linux,
    /// which made the sandbox, not the client, the bottleneck of the 100,000-opportunity benchmark).
    private func renderText(_ o: Opportunity, expand: Set<String>) -> String {
        if let raw = rawOverrides[o.id] { return String(decoding: raw, as: UTF8.self) }
        let expand = ignoresExpand ? [] : expand
        let stageText = stages.first { $0.id == o.stage }?.text ?? o.stage
        let stage =
            expand.contains("stage") ? "{\"id\":\(Self.q(o.stage)),\"text\":\(Self.q(stageText))}" : Self.q(o.stage)
        let applications =
            expand.contains("applications")
            ? "[{\"id\":\(Self.q(o.applicationId)),\"opportunityId\":\(Self.q(o.id)),\"type\":\"posting\",\"posting\":\(Self.q(o.postingId)),\"createdAt\":\(o.createdAt),\"archived\":null,\"customQuestions\":[]}]"
            : "[\(Self.q(o.applicationId))]"
        let changes = o.stageChanges.enumerated().map { index, change in
            "{\"toStageId\":\(Self.q(change.stage)),\"toStageIndex\":\(index),\"updatedAt\":\(change.at),\"userId\":\(Self.q(change.userId))}"
        }.joined(separator: ",")
        let archived =
            o.archivedAt.map { "{\"archivedAt\":\($0),\"reason\":\"63dd55b2-a99f-4e7b-985f-22c7bf80ab42\"}" } ?? "null"
        let protection =
            o.contactAllowed.map {
                "{\"store\":{\"allowed\":true,\"expiresAt\":null},\"contact\":{\"allowed\":\($0),\"expiresAt\":null}}"
            } ?? "null"
        let parts: [String] = [
            "\"id\":\(Self.q(o.id))", "\"name\":\(Self.q(o.name))", "\"contact\":\(Self.q(o.contact))",
            "\"headline\":\"\"",
            "\"location\":\"\"", "\"emails\":[\(o.emails.map { Self.q($0) }.joined(separator: ","))]",
            "\"phones\":[\(o.phones.map { "{\"type\":\"mobile\",\"value\":\(Self.q($0))}" }.joined(separator: ","))]",
            "\"confidentiality\":\"non-confidential\"",
            "\"tags\":[\(o.tags.map { Self.q($0) }.joined(separator: ","))]",
            "\"links\":[\(o.links.map { Self.q($0) }.joined(separator: ","))]", "\"sources\":[\"Job site\"]",
            "\"origin\":\"applied\"",
            "\"createdAt\":\(o.createdAt)", "\"updatedAt\":\(o.updatedAt)", "\"lastAdvancedAt\":\(o.lastAdvancedAt)",
            "\"lastInteractionAt\":\(o.updatedAt)", "\"snoozedUntil\":null", "\"isAnonymized\":false",
            "\"followers\":[]",
            "\"stageChanges\":[\(changes)]",
            "\"urls\":{\"list\":\"https://hire.lever.co/candidates\",\"show\":\"https://hire.lever.co/candidates/\(o.id)\"}",
            "\"archived\":\(archived)", "\"dataProtection\":\(protection)", "\"stage\":\(stage)",
            "\"applications\":\(applications)",
        ]
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// `{"data": <opportunity>}`.
    private func opportunityResponse(_ o: Opportunity, expand: Set<String> = []) -> SandboxResponse {
        SandboxResponse(
            status: 200, headers: ["Content-Type": "application/json; charset=utf-8"],
            body: Data("{\"data\":\(renderText(o, expand: expand))}".utf8))
    }

    private func range(_ request: SandboxRequest, _ name: String) -> (Millis?, Millis?)? {
        let start = request.value("\(name)_start").flatMap { Millis($0) }
        let end = request.value("\(name)_end").flatMap { Millis($0) }
        if request.value("\(name)_start") != nil && start == nil { return nil }
        if request.value("\(name)_end") != nil && end == nil { return nil }
        return (start, end)
    }

    private static func within(_ value: Millis, _ bounds: (Millis?, Millis?)) -> Bool {
        if let start = bounds.0, value < start { return false }
        if let end = bounds.1, value > end { return false }
        return true
    }

    /// The first page of the list as if no cursor fault were injected.
    private func listOpportunities(withoutFaults request: SandboxRequest) -> SandboxResponse {
        let saved = faults
        faults.repeatCursor = false
        defer { faults = saved }
        var first = request
        first.query.removeAll { $0.name == "offset" }
        return listOpportunities(first)
    }

    private func listOpportunities(_ request: SandboxRequest) -> SandboxResponse {
        guard let created = range(request, "created_at"), let advanced = range(request, "advanced_at"),
            let updated = range(request, "updated_at")
        else {
            return error(400, "BadRequestError", "Timestamps must be integer milliseconds")
        }
        let postingIds = Set(request.values("posting_id"))
        let stageIds = Set(request.values("stage_id"))
        let archived = request.value("archived")
        let expand = Set(request.values("expand"))
        let limit = min(100, max(1, Int(request.value("limit") ?? "100") ?? 100))
        if orderDirty {
            order = opportunities.values.map { ($0.createdAt, $0.id) }.sorted { ($0.at, $0.id) < ($1.at, $1.id) }
            orderDirty = false
        }
        // Start after the offset token's key (and not before created_at_start); the order is the paging order.
        var after: (Millis, String) = (created.0.map { $0 - 1 } ?? Millis.min, "\u{10FFFF}")
        if faults.repeatCursor {
            // A bug that hands out the same cursor forever: every page says there is more, under the same token.
            let first = listOpportunities(withoutFaults: request)
            guard var body = (try? JSONSerialization.jsonObject(with: first.body)) as? [String: Any] else {
                return first
            }
            body["hasNext"] = true
            body["next"] = Self.offsetToken(0, "loop")
            return .json(200, body)
        }
        if request.value("offset") != nil {
            guard let (at, id) = offsetKey(request) else {
                return error(400, "BadRequestError", "Invalid offset token")
            }
            if (at, id) > after { after = (at, id) }
        }
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if (order[mid].at, order[mid].id) <= after { low = mid + 1 } else { high = mid }
        }
        var matches: [Opportunity] = []
        var index = low
        while index < order.count && matches.count <= limit {
            let key = order[index]
            index += 1
            if let end = created.1, key.at > end { break }
            guard let o = opportunities[key.id] else { continue }
            guard postingIds.isEmpty || o.postingId.map(postingIds.contains) == true,
                stageIds.isEmpty || stageIds.contains(o.stage),
                Self.within(o.createdAt, created), Self.within(o.lastAdvancedAt, advanced),
                Self.within(o.updatedAt, updated),
                archived == nil || (archived == "true") == (o.archivedAt != nil)
            else { continue }
            matches.append(o)
        }
        let slice = matches.prefix(limit)
        var text = "{\"data\":[" + slice.map { renderText($0, expand: expand) }.joined(separator: ",") + "]"
        text += ",\"hasNext\":\(matches.count > limit)"
        if matches.count > limit, let last = slice.last {
            text += ",\"next\":" + Self.q(Self.offsetToken(last.createdAt, last.id))
        }
        return SandboxResponse(
            status: 200, headers: ["Content-Type": "application/json; charset=utf-8"], body: Data((text + "}").utf8))
    }

    private func listDeleted(_ request: SandboxRequest) -> SandboxResponse {
        let start = request.value("deleted_at_start").flatMap { Millis($0) } ?? 0
        let items = deleted.filter { $0.at >= start }
        return page(
            items, key: { ($0.at, $0.id) }, request: request,
            render: { ["id": $0.id, "deletedAt": $0.at] as [String: Any] })
    }

    private func getOpportunity(_ id: String, _ request: SandboxRequest) -> SandboxResponse {
        guard let o = opportunities[id] else {
            return error(404, "ResourceNotFound", "opportunities \(id) was not found")
        }
        return opportunityResponse(o, expand: Set(request.values("expand")))
    }

    private func listNotes(_ id: String, _ request: SandboxRequest) -> SandboxResponse {
        guard opportunities[id] != nil else {
            return error(404, "ResourceNotFound", "opportunities \(id) was not found")
        }
        let items = notes[id] ?? []
        return page(
            items, key: { ($0.createdAt, $0.id) }, request: request,
            render: { note in
                [
                    "id": note.id, "text": "Note", "user": note.userId ?? NSNull(), "secret": false,
                    "createdAt": note.createdAt,
                    "completedAt": NSNull(), "deletedAt": NSNull(),
                    "fields": [
                        ["type": "note", "text": "Note", "value": note.text, "createdAt": note.createdAt]
                            as [String: Any]
                    ],
                ] as [String: Any]
            })
    }

    private func listApplications(_ id: String) -> SandboxResponse {
        guard let o = opportunities[id] else {
            return error(404, "ResourceNotFound", "opportunities \(id) was not found")
        }
        return .json(
            200,
            [
                "data": [
                    ["id": o.applicationId, "posting": o.postingId ?? NSNull(), "createdAt": o.createdAt]
                        as [String: Any]
                ],
                "hasNext": false,
            ])
    }

    private func performAs(_ request: SandboxRequest) -> (ok: Bool, userId: String?) {
        guard let user = request.value("perform_as") else { return (true, nil) }
        return (users.contains { $0.id == user }, user)
    }

    private func body(_ request: SandboxRequest) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
    }

    private func writeOpportunity(_ id: String, action: String, _ request: SandboxRequest) -> SandboxResponse {
        guard var o = opportunities[id] else {
            return error(404, "ResourceNotFound", "opportunities \(id) was not found")
        }
        let actor = performAs(request)
        guard actor.ok else { return error(400, "BadRequestError", "perform_as user was not found") }
        guard let body = body(request) else { return error(400, "BadRequestError", "Request body must be JSON") }
        func strings(_ key: String) -> [String]? { body[key] as? [String] }
        switch action {
        case "addTags":
            guard let tags = strings("tags") else { return error(400, "BadRequestError", "Missing tags") }
            for tag in tags where !o.tags.contains(tag) { o.tags.append(tag) }
        case "removeTags":
            guard let tags = strings("tags") else { return error(400, "BadRequestError", "Missing tags") }
            o.tags.removeAll { tags.contains($0) }
        case "addLinks":
            guard let links = strings("links") else { return error(400, "BadRequestError", "Missing links") }
            for link in links where !o.links.contains(link) { o.links.append(link) }
        case "removeLinks":
            guard let links = strings("links") else { return error(400, "BadRequestError", "Missing links") }
            o.links.removeAll { links.contains($0) }
        case "notes":
            guard let value = body["value"] as? String, !value.isEmpty else {
                return error(400, "BadRequestError", "Missing note value")
            }
            let note = Note(id: newId(), text: value, userId: actor.userId, createdAt: now())
            notes[id, default: []].append(note)
            return .json(201, ["data": ["noteId": note.id]])
        default:
            return error(404, "ResourceNotFound", "Unknown path or method")
        }
        o.updatedAt = now()
        opportunities[id] = o
        return opportunityResponse(o)
    }

    private func moveStage(_ id: String, _ request: SandboxRequest) -> SandboxResponse {
        guard opportunities[id] != nil else {
            return error(404, "ResourceNotFound", "opportunities \(id) was not found")
        }
        let actor = performAs(request)
        guard actor.ok else { return error(400, "BadRequestError", "perform_as user was not found") }
        guard let stage = body(request)?["stage"] as? String else {
            return error(400, "BadRequestError", "Missing stage")
        }
        guard stages.contains(where: { $0.id == stage }) else {
            return error(404, "ResourceNotFound", "stages \(stage) was not found")
        }
        if opportunities[id]?.stage != stage { move(id, to: stage, by: actor.userId) }
        return opportunityResponse(opportunities[id]!)
    }

    private func listUsers(_ request: SandboxRequest) -> SandboxResponse {
        let email = request.value("email")?.lowercased()
        let items = users.filter { email == nil || $0.email.lowercased() == email }
        return .json(200, ["data": items.map(renderUser), "hasNext": false])
    }

    private func renderUser(_ user: (id: String, name: String, email: String)) -> Any {
        [
            "id": user.id, "name": user.name, "username": user.email.split(separator: "@").first.map(String.init) ?? "",
            "email": user.email, "accessRole": "admin",
            "deactivatedAt": deactivatedUsers.contains(user.id) ? 1_750_000_000_000 as Any : NSNull(),
            "createdAt": 1_700_000_000_000,
        ] as [String: Any]
    }

    private func getUser(_ id: String) -> SandboxResponse {
        guard let user = users.first(where: { $0.id == id }) else {
            return error(404, "ResourceNotFound", "user was not found")
        }
        return .json(200, ["data": renderUser(user)])
    }

    private func listTags() -> SandboxResponse {
        var counts: [String: Int] = [:]
        for o in opportunities.values { for tag in o.tags { counts[tag, default: 0] += 1 } }
        return .json(
            200,
            ["data": counts.sorted { $0.key < $1.key }.map { ["text": $0.key, "count": $0.value] as [String: Any] }])
    }
}
