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
    public internal(set) var postings: [String: Posting] = [:]
    public internal(set) var opportunities: [String: Opportunity] = [:]
    public internal(set) var notes: [String: [Note]] = [:]
    public internal(set) var deleted: [(id: String, at: Millis)] = []
    public var stages: [LeverStage]
    public var users: [(id: String, name: String, email: String)]
    /// Requests received, as "METHOD /path" (query left out).
    public internal(set) var requestLog: [String] = []
    /// The same requests with their query strings as sent ("GET /v1/postings?updated_at_start=…"), for tests that
    /// check which filters a read used.
    public internal(set) var requestLines: [String] = []
    /// Raw JSON served instead of the rendered opportunity (hostile-input tests).
    var rawOverrides: [String: Data] = [:]
    var rateLimit: SandboxRateLimit?
    public var faults = SandboxFaults()
    var lastMillis: Millis = 0
    /// Opportunity ids ordered by (createdAt, id), the paging order; rebuilt after additions.
    var order: [(at: Millis, id: String)] = []
    var orderDirty = false
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

    func newId() -> String { UUID().uuidString.lowercased() }

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
    public internal(set) var forbiddenOpportunities: Set<String> = []
    public func setOpportunityForbidden(_ id: String, _ forbidden: Bool = true) {
        if forbidden { forbiddenOpportunities.insert(id) } else { forbiddenOpportunities.remove(id) }
    }

    /// Writes answered with an error status without being applied, by action (`addTags`, `removeTags`, `addLinks`,
    /// `notes`, `stage`).
    /// Every request about these opportunities (reads and writes) answered with this status: one opportunity
    /// Lever fails on for days. nil heals it.
    public internal(set) var failingOpportunities: [String: Int] = [:]
    public func setOpportunityFailing(_ id: String, status: Int?) { failingOpportunities[id] = status }
    public internal(set) var failingWrites: [String: Int] = [:]
    public func setWriteFailing(_ action: String, status: Int?) { failingWrites[action] = status }

    /// Users marked deactivated (`deactivatedAt` set).
    public internal(set) var deactivatedUsers: Set<String> = []
    public func deactivateUser(_ id: String) { deactivatedUsers.insert(id) }

    /// When true, `expand` is ignored (applications and stage stay ids), like a Lever answer without expansion.
    public internal(set) var ignoresExpand = false
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

    func authorized(_ header: String?) -> Bool {
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
}
