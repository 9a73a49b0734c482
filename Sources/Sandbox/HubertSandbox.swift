import Foundation
import LeverHubertSync

/// An in-memory Hubert API exactly per docs/hubert-api.md: Bearer auth, templates, invitations with
/// required Idempotency-Key (200 on replay with the same body, 409 with another), cursor paging ordered by
/// (updatedAt, id), 429 with Retry-After, and controls to complete, regrade or expire interviews as Hubert would.
public actor HubertSandbox: SandboxService {
    /// An interview in the sandbox.
    public struct Interview: Sendable {
        public var id: String
        public var templateId: String
        public var opportunityId: String
        public var postingId: String?
        public var firstName: String
        public var lastName: String?
        public var email: String
        public var phoneNumber: String?
        public var status: String
        public var invitedAt: Millis
        public var completedAt: Millis?
        public var updatedAt: Millis
        public var result: HubertResult?
    }

    public let apiKey: String
    public private(set) var templates: [String: HubertTemplate] = [:]
    public private(set) var interviews: [String: Interview] = [:]
    /// Invitation e-mails "sent" per interview: more than one would be a duplicate invitation seen by a candidate.
    public private(set) var emailsSent: [String: Int] = [:]
    public private(set) var requestLog: [String] = []
    private var idempotency: [String: (body: Data, interviewId: String)] = [:]
    /// Keys Hubert kept for a refused (422) body when `keepsRefusedKeys` is on: the same body is refused again, another
    /// body is an `idempotency_conflict` — a stricter reading of the contract than the default, which keeps nothing.
    private var refusedKeys: [String: Data] = [:]
    public private(set) var keepsRefusedKeys = false
    public func setKeepsRefusedKeys(_ value: Bool) { keepsRefusedKeys = value }
    private var rateLimit: SandboxRateLimit?
    public var faults = SandboxFaults()
    private var lastMillis: Millis = 0
    /// Templates this key may not use: reading them or inviting with them answers 403 `forbidden`.
    private var forbiddenTemplates: Set<String> = []
    /// Grades served instead of the real one (a grade the client does not know).
    private var rawGrades: [String: String] = [:]

    public init(apiKey: String, rateLimit: (rate: Double, burst: Int)? = (5, 10)) {
        self.apiKey = apiKey
        self.rateLimit = rateLimit.map { SandboxRateLimit(rate: $0.rate, burst: $0.burst) }
    }

    // MARK: Control

    private func now() -> Millis {
        lastMillis = max(Date().millis, lastMillis)
        return lastMillis
    }

    /// Adds a template.
    public func addTemplate(id: String, name: String, status: String = "active", threshold: Double = 70) {
        templates[id] = HubertTemplate(id: id, name: name, status: status, threshold: threshold)
    }

    /// Completes an interview with a grade and score, as a candidate finishing it would.
    public func complete(_ interviewId: String, grade: HubertGrade, score: Double) {
        guard var interview = interviews[interviewId] else { return }
        let at = now()
        let threshold = templates[interview.templateId]?.threshold ?? 70
        interview.status = "completed"
        interview.completedAt = interview.completedAt ?? at
        interview.updatedAt = at
        interview.result = HubertResult(
            grade: grade, score: score, threshold: threshold,
            applicationUrl: "https://app.hubert.ai/applications/\(interview.id)",
            summaryUrl: "https://app.hubert.ai/applications/\(interview.id)/summary")
        interviews[interviewId] = interview
    }

    /// Template reads answered with this status (an odd 400 that says nothing about the template), or normally.
    private var failingTemplateReads: [String: Int] = [:]
    public func setTemplateReadFailing(_ id: String, status: Int?) { failingTemplateReads[id] = status }

    /// Invitations (POST /interviews) for these opportunities answered with this status, sending nothing: one
    /// candidate Hubert fails on (a bad character in a name, a bug on its side). nil heals it.
    private var failingInvitations: [String: Int] = [:]
    public func setInvitationFailing(opportunityId: String, status: Int?) { failingInvitations[opportunityId] = status }

    /// Makes a template forbidden (403) for this key, or allowed again.
    public func setTemplateForbidden(_ id: String, _ forbidden: Bool = true) {
        if forbidden { forbiddenTemplates.insert(id) } else { forbiddenTemplates.remove(id) }
    }

    /// Serves a completed interview's grade as `grade` (a grade the client may not know); nil serves the real one.
    public func setRawGrade(_ interviewId: String, _ grade: String?) {
        rawGrades[interviewId] = grade
        interviews[interviewId]?.updatedAt = now()
    }

    /// Forgets every Idempotency-Key, as Hubert does after 30 days.
    public func forgetIdempotencyKeys() { idempotency.removeAll() }

    /// Marks an interview expired.
    public func expire(_ interviewId: String) {
        interviews[interviewId]?.status = "expired"
        interviews[interviewId]?.updatedAt = now()
    }

    /// The interviews of one opportunity.
    public func interviews(opportunityId: String) -> [Interview] {
        interviews.values.filter { $0.opportunityId == opportunityId }.sorted { $0.invitedAt < $1.invitedAt }
    }

    public func setFaults(_ faults: SandboxFaults) { self.faults = faults }

    public func setRateLimit(_ limit: (rate: Double, burst: Int)?) {
        rateLimit = limit.map { SandboxRateLimit(rate: $0.rate, burst: $0.burst) }
    }

    public func clearLog() { requestLog.removeAll() }

    // MARK: HTTP

    private func error(_ status: Int, _ code: String, _ message: String, headers: [String: String] = [:])
        -> SandboxResponse
    {
        .json(status, ["error": ["code": code, "message": message]], headers: headers)
    }

    public func respond(_ request: SandboxRequest) async -> SandboxResponse {
        var response = route(request)
        if faults.latencyMs > 0 { response.delayMs += faults.latencyMs }
        return response
    }

    private func route(_ request: SandboxRequest) -> SandboxResponse {
        requestLog.append("\(request.method) \(request.path)")
        guard request.headers["authorization"] == "Bearer \(apiKey)" else {
            return error(401, "unauthorized", "Missing or invalid API key")
        }
        if faults.storm429 > 0 {
            faults.storm429 -= 1
            return error(
                429, "rate_limited", "Too many requests", headers: ["Retry-After": faults.stormRetryAfterValue])
        }
        if let wait = rateLimit?.take() {
            return error(
                429, "rate_limited", "Too many requests", headers: ["Retry-After": String(Int(wait.rounded(.up)))])
        }
        if faults.serverErrorRate > 0 && Double.random(in: 0..<1) < faults.serverErrorRate {
            return error(503, "unavailable", "Service unavailable")
        }
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.first == "v1" else { return error(404, "not_found", "Unknown path") }
        let rest = Array(parts.dropFirst())
        var response: SandboxResponse
        switch (request.method, rest.count, rest.first) {
        case ("GET", 2, "interview-templates"):
            if let status = failingTemplateReads[rest[1]] {
                return error(status, "bad_request", "Something odd about this request")
            }
            if forbiddenTemplates.contains(rest[1]) {
                return error(403, "forbidden", "This key may not use the template")
            }
            guard let template = templates[rest[1]] else { return error(404, "not_found", "Unknown template") }
            response = .json(200, ["data": render(template)])
        case ("POST", 1, "interviews"):
            if let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any],
                let reference = body["externalReference"] as? [String: Any],
                let opportunityId = reference["opportunityId"] as? String,
                let status = failingInvitations[opportunityId]
            {
                return error(status, "internal_error", "Something went wrong on our side")
            }
            response = createInterview(request)
            if (200..<300).contains(response.status), faults.lostResponseRate > 0,
                Double.random(in: 0..<1) < faults.lostResponseRate
            {
                response.delayMs += faults.lostResponseDelayMs
            }
        case ("GET", 1, "interviews"):
            response = listInterviews(request)
            if response.status == 200, faults.malformedRate > 0, Double.random(in: 0..<1) < faults.malformedRate {
                response.body = Data("{\"data\": [".utf8)
            }
        case ("GET", 2, "interviews"):
            guard let interview = interviews[rest[1]] else { return error(404, "not_found", "Unknown interview") }
            response = .json(200, ["data": render(interview)])
        default:
            response = error(404, "not_found", "Unknown path or method")
        }
        return response
    }

    private func render(_ template: HubertTemplate) -> Any {
        [
            "id": template.id, "name": template.name ?? NSNull(), "status": template.status,
            "threshold": template.threshold ?? NSNull(), "language": "en",
        ] as [String: Any]
    }

    private func render(_ i: Interview) -> Any {
        [
            "id": i.id, "templateId": i.templateId,
            "externalReference": [
                "source": "lever", "opportunityId": i.opportunityId, "postingId": i.postingId ?? NSNull(),
            ] as [String: Any],
            "candidate": [
                "firstName": i.firstName, "lastName": i.lastName ?? NSNull(), "email": i.email,
                "phoneNumber": i.phoneNumber ?? NSNull(),
            ] as [String: Any],
            "status": i.status, "invitedAt": RFC3339.format(i.invitedAt),
            "completedAt": i.completedAt.map(RFC3339.format) ?? NSNull(), "updatedAt": RFC3339.format(i.updatedAt),
            "result": i.result.map { r in
                [
                    "grade": rawGrades[i.id] ?? r.grade.rawValue, "score": r.score ?? NSNull(),
                    "threshold": r.threshold ?? NSNull(),
                    "applicationUrl": r.applicationUrl ?? NSNull(), "summaryUrl": r.summaryUrl ?? NSNull(),
                ] as [String: Any]
            } ?? NSNull(),
        ] as [String: Any]
    }

    private func createInterview(_ request: SandboxRequest) -> SandboxResponse {
        guard let key = request.headers["idempotency-key"], !key.isEmpty, key.count <= 255 else {
            return error(400, "bad_request", "Idempotency-Key header is required")
        }
        guard let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any],
            let templateId = body["templateId"] as? String,
            let candidate = body["candidate"] as? [String: Any],
            let reference = body["externalReference"] as? [String: Any],
            let opportunityId = reference["opportunityId"] as? String
        else {
            return error(400, "bad_request", "templateId, candidate and externalReference.opportunityId are required")
        }
        let canonical = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? request.body
        if let previous = idempotency[key] {
            guard previous.body == canonical else {
                return error(409, "idempotency_conflict", "Idempotency-Key reused with a different body")
            }
            guard let interview = interviews[previous.interviewId] else {
                return error(404, "not_found", "Unknown interview")
            }
            return .json(200, ["data": render(interview)])
        }
        if let refused = refusedKeys[key] {
            guard refused == canonical else {
                return error(409, "idempotency_conflict", "Idempotency-Key reused with a different body")
            }
        }
        let refusal = validate(templateId: templateId, candidate: candidate)
        if let refusal, refusal.status == 422, keepsRefusedKeys { refusedKeys[key] = canonical }
        if let refusal { return refusal }
        guard let firstName = candidate["firstName"] as? String, let email = candidate["email"] as? String else {
            return error(400, "bad_request", "candidate.firstName is required")
        }
        return create(
            key: key, canonical: canonical, templateId: templateId, opportunityId: opportunityId, reference: reference,
            candidate: candidate, firstName: firstName, email: email)
    }

    /// Why Hubert refuses an invitation body, or nil when it is accepted.
    private func validate(templateId: String, candidate: [String: Any]) -> SandboxResponse? {
        if forbiddenTemplates.contains(templateId) {
            return error(403, "forbidden", "This key may not use the template")
        }
        guard let template = templates[templateId] else { return error(404, "not_found", "Unknown template") }
        guard template.isActive else { return error(422, "template_inactive", "Template is not active") }
        guard let firstName = candidate["firstName"] as? String, !firstName.isEmpty else {
            return error(400, "bad_request", "candidate.firstName is required")
        }
        guard let email = candidate["email"] as? String, !email.isEmpty else {
            return error(422, "missing_email", "candidate.email is required")
        }
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@"), !email.contains(" ") else {
            return error(422, "invalid_email", "candidate.email is not a valid address")
        }
        return nil
    }

    /// Creates the interview of an accepted body and remembers its key.
    private func create(
        key: String, canonical: Data, templateId: String, opportunityId: String, reference: [String: Any],
        candidate: [String: Any], firstName: String, email: String
    ) -> SandboxResponse {
        let at = now()
        let id = "iv_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(26).uppercased()
        let interview = Interview(
            id: id, templateId: templateId, opportunityId: opportunityId, postingId: reference["postingId"] as? String,
            firstName: firstName, lastName: candidate["lastName"] as? String, email: email,
            phoneNumber: candidate["phoneNumber"] as? String, status: "invited", invitedAt: at, completedAt: nil,
            updatedAt: at, result: nil)
        interviews[id] = interview
        idempotency[key] = (canonical, id)
        emailsSent[id, default: 0] += 1
        return .json(201, ["data": render(interview)])
    }

    private func listInterviews(_ request: SandboxRequest) -> SandboxResponse {
        var since: Millis?
        if let text = request.value("updatedSince") {
            guard let parsed = RFC3339.parse(text) else {
                return error(400, "bad_request", "updatedSince must be RFC 3339")
            }
            since = parsed
        }
        let statuses = Set(request.values("status"))
        let opportunityId = request.value("opportunityId")
        let limit = min(100, max(1, Int(request.value("limit") ?? "50") ?? 50))
        var items = interviews.values.filter {
            (since == nil || $0.updatedAt >= since!) && (statuses.isEmpty || statuses.contains($0.status))
                && (opportunityId == nil || $0.opportunityId == opportunityId)
        }.sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
        if let cursor = request.value("cursor") {
            if faults.staleTokens > 0 {
                faults.staleTokens -= 1
                return error(400, "invalid_cursor", "Cursor is stale")
            }
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8),
                let bar = text.firstIndex(of: "|"), let at = Millis(text[..<bar])
            else {
                return error(400, "invalid_cursor", "Cursor is invalid")
            }
            let id = String(text[text.index(after: bar)...])
            items = items.filter { ($0.updatedAt, $0.id) > (at, id) }
        }
        let slice = Array(items.prefix(limit))
        var next: Any = NSNull()
        if items.count > limit, let last = slice.last {
            next = Data("\(last.updatedAt)|\(last.id)".utf8).base64EncodedString()
        }
        return .json(200, ["data": slice.map(render), "nextCursor": next])
    }
}
