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
    /// Hubert's answer said nothing about the template (a 400, a 5xx): not a refusal. Invitations are tried, and
    /// Hubert's answer to each one decides; asked again next pass (never cached).
    case unknown(String)

    /// The cause that holds back everyone on a posting tagged with this template, while it lasts; nil when its
    /// candidates can be invited (or the posting is refused outright: forbidden).
    var postingHold: HoldReason? {
        switch self {
        case .inactive: .templateInactive
        case .missing: .templateNotFound
        case .active, .forbidden, .unknown: nil
        }
    }

    /// As kept in the store's template cache.
    var stored: String {
        switch self {
        case .active: "active"
        case .inactive(let status): status
        case .missing: "missing"
        case .forbidden: "forbidden"
        case .unknown: "unknown"
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

/// How a pass reads the postings.
enum PostingRead: Sendable, Equatable {
    /// Every posting.
    case full
    /// Only the postings changed since then (`updated_at_start`), over what the store's snapshot says of the rest.
    case changedSince(Millis)
}

/// Every posting of the account as the pass found it.
struct PostingScan: Sendable {
    /// How the postings were read.
    var read = PostingRead.full
    /// Postings that take part in this pass (for a backfill, only the named ones).
    var usable: [String: TaggedPosting] = [:]
    /// Tagged postings whose candidates are held back for a posting-wide cause (the template inactive or unknown at
    /// Hubert): read like the usable ones, so that each candidate is held and heals with the template.
    var holding: [String: TaggedPosting] = [:]
    /// Postings untagged now whose last period ended inside the window: their candidates of that period are still
    /// decided for its template.
    var closing: [String: TaggedPosting] = [:]

    /// Every posting whose opportunities a live pass reads.
    var scanned: [String: TaggedPosting] {
        closing.merging(holding) { $1 }.merging(usable) { $1 }
    }
    /// The template each tagged posting names, whatever its status, and that status.
    var tagged: [String: (template: String, status: TemplateStatus)] = [:]
    /// Postings that could not be read this pass: nothing is concluded about their tags.
    var undecodable: Set<String> = []

    /// Why an invitation for (posting, template) can no longer be sent; nil while it can.
    func refusal(postingId: String, templateId: String) -> PostingRefusal? {
        guard let entry = tagged[postingId], entry.template == templateId else {
            return PostingRefusal(
                .postingNotTagged, "posting \(postingId) no longer carries the Hubert tag of template \(templateId)")
        }
        switch entry.status {
        case .active, .unknown: return nil
        case .forbidden: return PostingRefusal(.templateForbidden, "this Hubert key may not use template \(templateId)")
        case .missing: return PostingRefusal(.unknownTemplate, "Hubert does not know template \(templateId)")
        case .inactive(let status):
            return PostingRefusal(.templateInactive, "Hubert template \(templateId) is \(status)")
        }
    }
}

/// Observe, second part: the postings that take part and their templates.
extension SyncEngine {
    /// At most this long between two full reads of the postings: a change a changed-since read could not see is
    /// found by then.
    static let postingsFullReadMs: Millis = 3_600_000

    /// How this pass reads the postings: a live pass reads only what changed since the last read (minus the lookback)
    /// while the last full read is less than an hour old; a backfill, a first pass, and a pass after the clock
    /// stepped back read them all.
    func postingRead(mode: PassMode, started: Millis) async throws -> PostingRead {
        guard case .live = mode, let full = try await store.meta(.postingsFullReadAt),
            let last = try await store.meta(.postingsReadAt), full <= started, last <= started,
            started - full < Self.postingsFullReadMs
        else { return .full }
        return .changedSince(max(0, last - lookbackMs))
    }

    /// Whether a changed-since read leaves a pending invitation's posting untagged, or tagged with another template:
    /// only a full read may conclude that its tag is gone.
    func needsFullPostingRead(_ scan: PostingScan, pending: [InvitationRecord]) -> Bool {
        guard case .changedSince = scan.read else { return false }
        return pending.contains { pending in
            !scan.undecodable.contains(pending.postingId)
                && scan.tagged[pending.postingId]?.template != pending.templateId
        }
    }

    /// Reads the postings (all, or those changed since the last read over the stored snapshot) and classifies their
    /// tags; asks Hubert (through the store's cache) about each template. A posting with a bad tag, or a template
    /// Hubert does not know, has archived or forbids this key, is a problem for that posting only: every other posting
    /// is served.
    func scanPostings(
        mode: PassMode, read: PostingRead, previousCheckpoint: Millis?, windowStart: Millis?, started: Millis,
        effects: any Effects, collector: PassCollector
    ) async throws -> PostingScan {
        let known = try await store.taggingPeriods()
        let (malformed, corrected) = try await store.malformedPostings()
        var changes: [String: PeriodChange] = [:]
        var scan = PostingScan()
        scan.read = read
        var entries: [String: PostingSnapshotEntry] = [:]
        var since: Millis?
        if case .changedSince(let start) = read {
            entries = try await store.postingSnapshot()
            since = start
        }
        var readNow: [String: PostingSnapshotEntry] = [:]
        var withoutId = 0
        try await lever.forEachPostingPage(updatedSince: since) { page in
            for failure in page.failures {
                if let id = failure.id {
                    scan.undecodable.insert(id)
                    entries[id] = nil
                } else {
                    withoutId += 1
                }
                await collector.add(
                    Problem(
                        postingId: failure.id, reason: .undecodablePosting,
                        message: "posting \(failure.id ?? "without id") could not be read: \(failure.reason)"))
            }
            for posting in page.items {
                let entry = PostingSnapshotEntry(
                    postingId: posting.id, verdict: Planner.hubertTemplate(tags: posting.tags),
                    name: posting.text.map { String($0.prefix(200)) }, updatedAt: posting.updatedAt, readAt: started)
                entries[posting.id] = entry
                readNow[posting.id] = entry
            }
        }
        await collector.postingsScanned(entries.count + scan.undecodable.count + withoutId)
        var candidates: [TaggedPosting] = []
        var names: [String: String] = [:]
        var healthy: [String] = []
        var inScope: Set<String>?
        if case .backfill(_, _, let ids) = mode, !ids.isEmpty { inScope = Set(ids) }
        for entry in entries.values.sorted(by: { $0.postingId < $1.postingId }) {
            let id = entry.postingId
            let wanted = inScope?.contains(id) ?? true
            // The tag's life: a tag seen for the first time counts from when it can have been added — not before the
            // previous pass (the tag was not there then, or it would have seen it) and not before the posting last
            // changed (a tag added during a pause does not invite everyone who applied before it; backfill exists
            // for that); a corrected malformed tag counts from the malformed tag's first sighting.
            let seenAt = Planner.firstSeen(
                previousCheckpoint: previousCheckpoint, postingUpdatedAt: entry.updatedAt, now: started)
            let change = Planner.periodChange(
                open: known[id]?.last(where: { $0.end == nil }), malformedSince: malformed[id],
                verdict: entry.tagVerdict, seenAt: seenAt)
            if !change.isEmpty { changes[id] = change }
            let periods = Self.applying(change, to: known[id] ?? [])
            if mode.isLive, entry.tagVerdict.template == nil, let windowStart, let last = periods.last,
                let end = last.end, end > windowStart
            {
                // Untagged (or malformed) now, tagged until inside the window: that period's candidates are decided.
                scan.closing[id] = TaggedPosting(
                    postingId: id, templateId: last.templateId, firstSeen: last.start, periods: periods)
                scan.closing[id]?.closed = true
            }
            switch entry.tagVerdict {
            case .none:
                if readNow[id] != nil { healthy.append(id) }
            case .invalid(let reason, let message):
                if wanted {
                    await collector.add(Problem(postingId: id, reason: reason, message: "posting \(id): \(message)"))
                }
            case .template(let template):
                let current =
                    periods.last(where: { $0.end == nil }) ?? TaggingPeriod(templateId: template, start: seenAt)
                scan.tagged[id] = (template, .active)
                if let name = entry.name { names[id] = name }
                if wanted {
                    var posting = TaggedPosting(
                        postingId: id, templateId: template, firstSeen: current.start, periods: periods)
                    if let owed = change.malformedCorrectedAt != nil ? malformed[id] : corrected[id], mode.isLive {
                        // Corrected: the candidates reported while the tag was malformed are owed their interview —
                        // decided from its first sighting by every pass until one has processed its whole window.
                        posting.decideFrom = max(owed, started - holdMs)
                        posting.readFrom = posting.decideFrom
                    }
                    candidates.append(posting)
                }
            }
        }
        // A posting gone from the account (or from a full read) ends its period.
        for (id, periods) in known where entries[id] == nil && !scan.undecodable.contains(id) {
            if periods.contains(where: { $0.end == nil }) || malformed[id] != nil {
                changes[id] = Planner.periodChange(
                    open: periods.last(where: { $0.end == nil }), malformedSince: malformed[id], verdict: .none,
                    seenAt: started)
            }
        }
        if let inScope {
            for id in inScope.subtracting(candidates.map(\.postingId)).sorted() {
                await collector.add(
                    Problem(
                        postingId: id, reason: .postingNotTagged,
                        message: "posting \(id) was named for the backfill but carries no valid Hubert tag"))
            }
        }
        var statusByTemplate: [String: TemplateStatus] = [:]
        for (postingId, entry) in scan.tagged.sorted(by: { $0.key < $1.key }) {
            if statusByTemplate[entry.template] == nil {
                statusByTemplate[entry.template] = try await templateStatus(entry.template, effects: effects)
            }
            scan.tagged[postingId]?.status = statusByTemplate[entry.template] ?? .missing
        }
        // Postings whose candidates waited for a posting-wide cause that has healed are read from the earliest of them.
        let healing =
            mode.isLive ? try await store.heldForPosting(reasons: [.templateInactive, .templateNotFound]) : [:]
        for var posting in candidates {
            if let refusal = scan.refusal(postingId: posting.postingId, templateId: posting.templateId) {
                await collector.add(
                    Problem(
                        postingId: posting.postingId, reason: refusal.reason,
                        message: "posting \(posting.postingId): \(refusal.why); its candidates are not invited"))
                guard let cause = scan.tagged[posting.postingId]?.status.postingHold else { continue }
                posting.postingHold = cause
                scan.holding[posting.postingId] = posting
            } else {
                if let earliest = healing[PostingTemplate(postingId: posting.postingId, templateId: posting.templateId)]
                {
                    posting.readFrom = min(posting.readFrom ?? .max, max(earliest, started - holdMs))
                }
                scan.usable[posting.postingId] = posting
            }
        }
        if case .live = mode {
            try await effects.record {
                try await store.applyPeriodChanges(changes)
                try await store.recordPostingRead(
                    Array(readNow.values), full: read == .full, keep: scan.undecodable, startedAt: started)
                try await store.recordPostingTags(
                    scan.usable.values.map { posting in
                        let first = posting.periods.first { $0.templateId == posting.templateId }
                        return (posting.postingId, posting.templateId, first?.start ?? posting.firstSeen)
                    },
                    names: names, now: started)
                try await store.clearPostingProblems(postingIds: healthy + Array(scan.usable.keys))
            }
        }
        return scan
    }

    /// A posting's periods once a change is applied.
    static func applying(_ change: PeriodChange, to periods: [TaggingPeriod]) -> [TaggingPeriod] {
        var result = periods
        if let end = change.closeAt, let open = result.lastIndex(where: { $0.end == nil }) {
            result[open].end = max(result[open].start, end)
        }
        if let period = change.open { result.append(period) }
        return result
    }

    /// What Hubert says of a template, cached in the store for `sync.cacheMinutes`.
    func templateStatus(_ templateId: String, effects: any Effects) async throws -> TemplateStatus {
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
            // Not an answer about the template (a 400, a 5xx after the retries): not cached, asked again next pass.
            logger.warning(
                "Hubert did not say whether a template is usable; its postings are served and Hubert decides",
                metadata: ["hubert.template.id": "\(templateId)", "error": "\(error)"])
            return .unknown("\(error)")
        }
        try await effects.record {
            try await store.cacheTemplate(templateId, status: status.stored, threshold: threshold, now: now)
        }
        return status
    }
}
