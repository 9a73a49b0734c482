import Foundation
import LeverHubertSync

/// The sandbox's opportunity endpoints: rendering, the filtered and paged list, deleted opportunities, notes,
/// applications, and the writes (tags, links, notes, stage moves).
extension LeverSandbox {
    /// The opportunity as JSON text (written by hand: Foundation's JSONSerialization is ~20× slower on Linux,
    /// which made the sandbox, not the client, the bottleneck of the 100,000-opportunity benchmark).
    func renderText(_ o: Opportunity, expand: Set<String>) -> String {
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

    /// The 404 of an opportunity that does not exist.
    func notFound(_ id: String) -> SandboxResponse {
        error(404, "ResourceNotFound", "opportunities \(id) was not found")
    }

    /// `{"data": <opportunity>}`.
    func opportunityResponse(_ o: Opportunity, expand: Set<String> = []) -> SandboxResponse {
        SandboxResponse(
            status: 200, headers: ["Content-Type": "application/json; charset=utf-8"],
            body: Data("{\"data\":\(renderText(o, expand: expand))}".utf8))
    }

    func range(_ request: SandboxRequest, _ name: String) -> (Millis?, Millis?)? {
        let start = request.value("\(name)_start").flatMap { Millis($0) }
        let end = request.value("\(name)_end").flatMap { Millis($0) }
        if request.value("\(name)_start") != nil && start == nil { return nil }
        if request.value("\(name)_end") != nil && end == nil { return nil }
        return (start, end)
    }

    static func within(_ value: Millis, _ bounds: (Millis?, Millis?)) -> Bool {
        if let start = bounds.0, value < start { return false }
        if let end = bounds.1, value > end { return false }
        return true
    }

    /// The first page of the list as if no cursor fault were injected.
    func listOpportunities(withoutFaults request: SandboxRequest) -> SandboxResponse {
        let saved = faults
        faults.repeatCursor = false
        defer { faults = saved }
        var first = request
        first.query.removeAll { $0.name == "offset" }
        return listOpportunities(first)
    }

    func listOpportunities(_ request: SandboxRequest) -> SandboxResponse {
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

    func listDeleted(_ request: SandboxRequest) -> SandboxResponse {
        let start = request.value("deleted_at_start").flatMap { Millis($0) } ?? 0
        let items = deleted.filter { $0.at >= start }
        return page(
            items, key: { ($0.at, $0.id) }, request: request,
            render: { ["id": $0.id, "deletedAt": $0.at] as [String: Any] })
    }

    func getOpportunity(_ id: String, _ request: SandboxRequest) -> SandboxResponse {
        guard let o = opportunities[id] else { return notFound(id) }
        return opportunityResponse(o, expand: Set(request.values("expand")))
    }

    func listNotes(_ id: String, _ request: SandboxRequest) -> SandboxResponse {
        guard opportunities[id] != nil else { return notFound(id) }
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

    func listApplications(_ id: String) -> SandboxResponse {
        guard let o = opportunities[id] else { return notFound(id) }
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

    func performAs(_ request: SandboxRequest) -> (ok: Bool, userId: String?) {
        guard let user = request.value("perform_as") else { return (true, nil) }
        return (users.contains { $0.id == user }, user)
    }

    func body(_ request: SandboxRequest) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
    }

    func writeOpportunity(_ id: String, action: String, _ request: SandboxRequest) -> SandboxResponse {
        guard var o = opportunities[id] else { return notFound(id) }
        let actor = performAs(request)
        guard actor.ok else { return error(400, "BadRequestError", "perform_as user was not found") }
        guard let body = body(request) else { return error(400, "BadRequestError", "Request body must be JSON") }
        func strings(_ key: String) -> [String]? { body[key] as? [String] }
        switch action {
        case "addTags", "removeTags", "addLinks", "removeLinks":
            // Set semantics: adding what is there or removing what is not changes nothing.
            let key = action.hasSuffix("Tags") ? "tags" : "links"
            guard let values = strings(key) else { return error(400, "BadRequestError", "Missing \(key)") }
            func apply(_ list: inout [String]) {
                if action.hasPrefix("add") {
                    for value in values where !list.contains(value) { list.append(value) }
                } else {
                    list.removeAll { values.contains($0) }
                }
            }
            if key == "tags" { apply(&o.tags) } else { apply(&o.links) }
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

    func moveStage(_ id: String, _ request: SandboxRequest) -> SandboxResponse {
        guard opportunities[id] != nil else { return notFound(id) }
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
}
