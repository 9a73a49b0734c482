import Foundation

/// What Hubert says of a template, as the sync uses it.
enum TemplateStatus: Sendable, Equatable {
    case active
    /// Archived or any other state than active: no invitations.
    case inactive(String)
    /// Hubert does not know it (404).
    case missing
    /// This Hubert key may not use it (403).
    case forbidden

    /// As kept in the store's template cache.
    var stored: String {
        switch self {
        case .active: "active"
        case .inactive(let status): status
        case .missing: "missing"
        case .forbidden: "forbidden"
        }
    }

    init(stored: String) {
        switch stored {
        case "active": self = .active
        case "missing": self = .missing
        case "forbidden": self = .forbidden
        default: self = .inactive(stored)
        }
    }
}

/// Every posting of the account as the pass found it.
struct PostingScan: Sendable {
    /// Postings that take part in this pass (for a backfill, only the named ones).
    var usable: [String: TaggedPosting] = [:]
    /// The template each tagged posting names, whatever its status, and that status.
    var tagged: [String: (template: String, status: TemplateStatus)] = [:]
    /// Postings that could not be read this pass: nothing is concluded about their tags.
    var undecodable: Set<String> = []

    /// Why an invitation for (posting, template) can no longer be sent; nil while it can.
    func refusal(postingId: String, templateId: String) -> (reason: String, why: String)? {
        guard let entry = tagged[postingId], entry.template == templateId else {
            return (
                "posting_not_tagged", "posting \(postingId) no longer carries the Hubert tag of template \(templateId)"
            )
        }
        switch entry.status {
        case .active: return nil
        case .forbidden: return ("template_forbidden", "this Hubert key may not use template \(templateId)")
        case .missing: return ("unknown_template", "Hubert does not know template \(templateId)")
        case .inactive(let status): return ("template_inactive", "Hubert template \(templateId) is \(status)")
        }
    }
}

/// Observe, second part: the postings that take part and their templates.
extension SyncEngine {
    /// Reads every posting and classifies its tags; asks Hubert (through the store's cache) about each template.
    /// A posting with a bad tag, or a template Hubert does not know, has archived or forbids this key, is a problem
    /// for that posting only: every other posting is served.
    func scanPostings(
        mode: PassMode, previousCheckpoint: Millis?, started: Millis, dryRun: Bool,
        collector: PassCollector
    ) async throws -> PostingScan {
        let known = try await store.postingTags()
        var scan = PostingScan()
        var candidates: [TaggedPosting] = []
        var names: [String: String] = [:]
        var healthy: [String] = []
        var inScope: Set<String>?
        if case .backfill(_, _, let ids) = mode, !ids.isEmpty { inScope = Set(ids) }
        try await lever.forEachPostingPage { page in
            await collector.postingsScanned(page.data.count)
            for failure in page.failures {
                if let id = failure.id { scan.undecodable.insert(id) }
                await collector.add(
                    Problem(
                        postingId: failure.id, reason: "undecodable_posting",
                        message: "posting \(failure.id ?? "without id") could not be read: \(failure.reason)"))
            }
            for posting in page.items {
                let wanted = inScope?.contains(posting.id) ?? true
                switch Planner.hubertTemplate(tags: posting.tags) {
                case .none:
                    healthy.append(posting.id)
                case .invalid(let reason, let message):
                    if wanted {
                        await collector.add(
                            Problem(postingId: posting.id, reason: reason, message: "posting \(posting.id): \(message)")
                        )
                    }
                case .template(let template):
                    // A tag seen for the first time counts from when it can have been added: not before the previous
                    // checkpoint, and not before the posting last changed (a tag added during a pause or an outage
                    // does not invite everyone who applied before it; backfill exists for that).
                    let firstSeen =
                        known[posting.id + "|" + template]
                        ?? Planner.firstSeen(
                            previousCheckpoint: previousCheckpoint, postingUpdatedAt: posting.updatedAt,
                            now: started)
                    scan.tagged[posting.id] = (template, .active)
                    if let text = posting.text { names[posting.id] = String(text.prefix(200)) }
                    if wanted {
                        candidates.append(
                            TaggedPosting(postingId: posting.id, templateId: template, firstSeen: firstSeen))
                    }
                }
            }
        }
        if let inScope {
            for id in inScope.subtracting(candidates.map(\.postingId)).sorted() {
                await collector.add(
                    Problem(
                        postingId: id, reason: "posting_not_tagged",
                        message: "posting \(id) was named for the backfill but carries no valid Hubert tag"))
            }
        }
        var statusByTemplate: [String: TemplateStatus] = [:]
        for (postingId, entry) in scan.tagged.sorted(by: { $0.key < $1.key }) {
            if statusByTemplate[entry.template] == nil {
                statusByTemplate[entry.template] = try await templateStatus(entry.template, dryRun: dryRun)
            }
            scan.tagged[postingId]?.status = statusByTemplate[entry.template] ?? .missing
        }
        for posting in candidates.sorted(by: { $0.postingId < $1.postingId }) {
            if let refusal = scan.refusal(postingId: posting.postingId, templateId: posting.templateId) {
                await collector.add(
                    Problem(
                        postingId: posting.postingId, reason: refusal.reason,
                        message: "posting \(posting.postingId): \(refusal.why); its candidates are not invited"))
            } else {
                scan.usable[posting.postingId] = posting
            }
        }
        if !dryRun, case .live = mode {
            try await store.recordPostingTags(
                scan.usable.values.map { ($0.postingId, $0.templateId, $0.firstSeen) },
                names: names, now: started)
            try await store.clearPostingProblems(postingIds: healthy + Array(scan.usable.keys))
        }
        return scan
    }

    /// What Hubert says of a template, cached in the store for `sync.cacheMinutes`.
    func templateStatus(_ templateId: String, dryRun: Bool) async throws -> TemplateStatus {
        let now = clock()
        if let cached = try await store.cachedTemplate(templateId, freshAfter: now - cacheMs) {
            return TemplateStatus(stored: cached.status)
        }
        let status: TemplateStatus
        var threshold: Double?
        do {
            if let template = try await hubert.template(id: templateId) {
                status = template.isActive ? .active : .inactive(template.status)
                threshold = template.threshold
            } else {
                status = .missing
            }
        } catch let error as APIError where error.status == 403 {
            status = .forbidden
        } catch let error as APIError {
            // Not an answer about the template (a 400, an unreadable body): not cached, asked again next pass.
            return .inactive("unreadable (\(error))")
        }
        if !dryRun { try await store.cacheTemplate(templateId, status: status.stored, threshold: threshold, now: now) }
        return status
    }
}
