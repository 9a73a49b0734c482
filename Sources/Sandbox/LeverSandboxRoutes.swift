import Foundation
import LeverHubertSync

/// The sandbox's HTTP side: authentication, injected faults, routing, paging with offset tokens, and the
/// postings, users, stages and tags endpoints.
extension LeverSandbox {
    public func respond(_ request: SandboxRequest) async -> SandboxResponse {
        var response = route(request)
        if faults.latencyMs > 0 { response.delayMs += faults.latencyMs }
        return response
    }

    func error(_ status: Int, _ code: String, _ message: String) -> SandboxResponse {
        .json(status, ["code": code, "message": message])
    }

    func route(_ request: SandboxRequest) -> SandboxResponse {
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
    func offsetKey(_ request: SandboxRequest) -> (Millis, String)? {
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
    func page<T>(
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

    func render(_ posting: Posting) -> Any {
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

    func listPostings(_ request: SandboxRequest) -> SandboxResponse {
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

    func listUsers(_ request: SandboxRequest) -> SandboxResponse {
        let email = request.value("email")?.lowercased()
        let items = users.filter { email == nil || $0.email.lowercased() == email }
        return .json(200, ["data": items.map(renderUser), "hasNext": false])
    }

    func renderUser(_ user: (id: String, name: String, email: String)) -> Any {
        [
            "id": user.id, "name": user.name, "username": user.email.split(separator: "@").first.map(String.init) ?? "",
            "email": user.email, "accessRole": "admin",
            "deactivatedAt": deactivatedUsers.contains(user.id) ? 1_750_000_000_000 as Any : NSNull(),
            "createdAt": 1_700_000_000_000,
        ] as [String: Any]
    }

    func getUser(_ id: String) -> SandboxResponse {
        guard let user = users.first(where: { $0.id == id }) else {
            return error(404, "ResourceNotFound", "user was not found")
        }
        return .json(200, ["data": renderUser(user)])
    }

    func listTags() -> SandboxResponse {
        var counts: [String: Int] = [:]
        for o in opportunities.values { for tag in o.tags { counts[tag, default: 0] += 1 } }
        return .json(
            200,
            ["data": counts.sorted { $0.key < $1.key }.map { ["text": $0.key, "count": $0.value] as [String: Any] }])
    }
}
