import Foundation
import Logging

/// Which window a pass covers.
public enum PassMode: Sendable, Equatable {
    /// Everything since the live checkpoint (what cron runs).
    case live
    /// An explicit past window; never moves the live checkpoint.
    case backfill(since: Millis, until: Millis, postingIds: [String])

    var name: String { if case .live = self { "run" } else { "backfill" } }
}

/// Ids resolved once per pass from names in the configuration.
struct PassContext: Sendable {
    var newApplicantStageId: String
    var performAs: String?
    var autoMove: [HubertGrade: String]
    var autoMoveByPosting: [String: [HubertGrade: String]]

    /// The stage id a grade moves to on a posting (the posting's override first).
    func autoMoveStage(_ grade: HubertGrade, postingId: String?) -> String? {
        if let postingId, let stage = autoMoveByPosting[postingId]?[grade] { return stage }
        return autoMove[grade]
    }
}

/// One reconciling pass: observe (Lever, Hubert, the store) → plan (pure rules in `Planner`) → apply (through the
/// ledger) → record (checkpoints, run row) → report. A dry run is the same computation with every effect off.
public struct SyncEngine: Sendable {
    public static let leverStream = "lever.opportunities"
    public static let hubertStream = "hubert.interviews"
    /// Posting ids per opportunities query (repeated `posting_id` keys): 100 postings cost one query per window.
    static let postingBatch = 100
    /// How long cached lookups (stages, perform-as user, template states) are trusted.
    var cacheMs: Millis { Millis(config.cacheMinutes) * 60_000 }

    let config: AppConfig
    let store: Store
    let lever: LeverClient
    let hubert: HubertClient
    let requests: RequestLedger
    let logger: Logger
    let clock: @Sendable () -> Millis
    /// Told after each page (a terminal progress line); nil for none.
    public var progress: ProgressSink?

    public init(config: AppConfig, store: Store, lever: LeverClient, hubert: HubertClient, requests: RequestLedger,
                logger: Logger, clock: @escaping @Sendable () -> Millis = { Date().millis }, progress: ProgressSink? = nil) {
        self.config = config; self.store = store; self.lever = lever; self.hubert = hubert
        self.requests = requests; self.logger = logger; self.clock = clock; self.progress = progress
    }

    /// Runs one pass and reports it. Never throws: failures become the report's exit code and message.
    public func run(mode: PassMode, dryRun: Bool, runId: String = UUID().uuidString.lowercased()) async -> PassReport {
        var logger = self.logger
        logger[metadataKey: "run.id"] = "\(runId)"
        let started = clock()
        let collector = PassCollector()
        var exitCode: Int32 = 0
        var message: String?
        do {
            if !dryRun { try await store.recordRunStart(id: runId, kind: mode.name, now: started) }
            try await pass(mode: mode, dryRun: dryRun, started: started, collector: collector, logger: logger)
        } catch let abort as PassAbort {
            exitCode = abort.exitCode
            message = abort.description
            logger.error("pass stopped", metadata: ["reason": "\(abort.description)", "exit": "\(exitCode)"])
        } catch is CancellationError {
            exitCode = 75
            message = "pass cancelled"
        } catch {
            exitCode = 75
            message = "unexpected error: \(error)"
            logger.error("pass failed", metadata: ["error": "\(error)"])
        }
        let finished = clock()
        let report = PassReport(
            runId: runId, dryRun: dryRun, mode: mode.name, paused: config.paused, counts: await collector.counts, actions: await collector.actions,
            problems: await collector.problems,
            requests: RequestCounts(lever: await requests.requests(.lever), hubert: await requests.requests(.hubert)),
            exitCode: exitCode, message: message, startedAt: RFC3339.format(started), durationMs: finished - started)
        if !dryRun {
            do {
                try await store.recordProblems(report.problems, runId: runId, now: finished)
                let counts = String(data: (try? JSONEncoder().encode(report.counts)) ?? Data(), encoding: .utf8) ?? "{}"
                try await store.recordRunEnd(id: runId, exitCode: exitCode, countsJSON: counts, leverRequests: report.requests.lever,
                                             hubertRequests: report.requests.hubert, message: message, now: finished)
            } catch {
                logger.error("could not record the run", metadata: ["error": "\(error)"])
            }
        }
        logger.info("pass finished", metadata: [
            "exit": "\(exitCode)", "invitations": "\(report.counts.invitationsSent)", "results": "\(report.counts.resultsApplied)",
            "problems": "\(report.problems.count)", "lever.requests": "\(report.requests.lever)",
            "hubert.requests": "\(report.requests.hubert)", "dry_run": "\(dryRun)",
        ])
        return report
    }

    private func pass(mode: PassMode, dryRun: Bool, started: Millis, collector: PassCollector, logger: Logger) async throws {
        if config.paused {
            logger.notice("sync is paused by configuration (sync.paused): nothing read, nothing written")
            return
        }
        let context = try await resolveContext(dryRun: dryRun)
        let lookbackMs = Millis(config.lookbackMinutes) * 60_000
        let leverCheckpoint = try await store.checkpoint(Self.leverStream)
        let hubertCheckpoint = try await store.checkpoint(Self.hubertStream)

        // Settle what an earlier pass left unconfirmed before anything new.
        try await settlePendingInvitations(context: context, dryRun: dryRun, collector: collector)

        // Postings and their templates.
        let backfill: Bool
        let window: ClosedRange<Millis>?
        switch mode {
        case .live:
            backfill = false
            window = leverCheckpoint.map { max(0, $0 - lookbackMs)...started }
        case .backfill(let since, let until, _):
            backfill = true
            window = since...max(since, until)
        }
        let postings = try await scanPostings(mode: mode, firstSeenDefault: leverCheckpoint ?? started, started: started,
                                              dryRun: dryRun, collector: collector)

        // Invitations (Hubert-bound) and results (Lever-bound) touch different opportunities and different budgets,
        // so they run side by side: a pass takes about as long as its busier service needs.
        async let invitations: Void = {
            guard let window else {
                logger.info("first pass on this database: baseline set, nobody who applied before now is invited")
                return
            }
            try await scanOpportunities(postings: postings, window: window, backfill: backfill, context: context,
                                        dryRun: dryRun, collector: collector)
        }()
        async let results: Void = {
            try await settleUnfinishedResults(context: context, dryRun: dryRun, collector: collector)
            switch mode {
            case .live:
                if let hubertCheckpoint {
                    try await scanResults(since: max(0, hubertCheckpoint - lookbackMs), until: nil, context: context,
                                          dryRun: dryRun, collector: collector)
                }
            case .backfill(let since, let until, let postingIds):
                try await scanResults(since: since, until: until, postingIds: Set(postingIds), context: context,
                                      dryRun: dryRun, collector: collector)
            }
        }()
        try await invitations
        try await results

        // Retention: forget what Lever deleted; prune what is old.
        if case .live = mode, !dryRun, let leverCheckpoint {
            try await purgeDeleted(since: max(0, leverCheckpoint - lookbackMs), logger: logger)
            let pruned = try await store.prune(before: started - Millis(config.retentionDays) * 86_400_000)
            if pruned > 0 { logger.info("pruned old records", metadata: ["rows": "\(pruned)"]) }
        }

        // Record: the checkpoint moves only now that the whole window is processed.
        if case .live = mode, !dryRun {
            KillPoint.beforeCheckpoint.reached()
            try await store.advanceCheckpoints([Self.leverStream: started, Self.hubertStream: started], now: clock())
        }
    }

    /// Reads Lever's deleted opportunities since `since` and purges what the store holds about them.
    func purgeDeleted(since: Millis, logger: Logger) async throws {
        var removed = 0
        try await lever.forEachDeletedPage(since: since) { page in
            removed += try await store.purge(opportunityIds: page.items.map(\.id))
        }
        if removed > 0 { logger.info("purged deleted opportunities", metadata: ["rows": "\(removed)"]) }
    }

    // MARK: Observe

    /// Resolves stage names and the perform-as user to ids (from the store's cache while it is fresh).
    func resolveContext(dryRun: Bool) async throws -> PassContext {
        var stages = try await cachedStages(dryRun: dryRun, force: false)
        if !configuredStagesResolve(in: stages) { stages = try await cachedStages(dryRun: dryRun, force: true) }
        func stageId(_ nameOrId: String, key: String) throws -> String {
            if let stage = StageResolver.resolve(nameOrId, in: stages) { return stage }
            throw PassAbort.configuration("\(key): no Lever stage named or with id \"\(nameOrId)\"")
        }
        var newApplicant = StageResolver.resolve(config.newApplicantStage, in: stages)
        if newApplicant == nil && config.newApplicantStage == AppConfig.Defaults.newApplicantStage {
            newApplicant = "applicant-new"
        }
        guard let newApplicantStageId = newApplicant else {
            throw PassAbort.configuration("sync.newApplicantStage: no Lever stage named or with id \"\(config.newApplicantStage)\"")
        }
        var autoMove: [HubertGrade: String] = [:]
        for grade in HubertGrade.allCases {
            if let stage = config.autoMove[grade] { autoMove[grade] = try stageId(stage, key: "autoMove") }
        }
        var byPosting: [String: [HubertGrade: String]] = [:]
        for (posting, grades) in config.autoMoveByPosting {
            for grade in HubertGrade.allCases {
                if let stage = grades[grade] { byPosting[posting, default: [:]][grade] = try stageId(stage, key: "autoMove.postings.\(posting)") }
            }
        }
        let performAs = try await resolvePerformAs(dryRun: dryRun)
        return PassContext(newApplicantStageId: newApplicantStageId, performAs: performAs, autoMove: autoMove,
                           autoMoveByPosting: byPosting)
    }

    /// The account's stages, cached in the store for `cacheMinutes`.
    func cachedStages(dryRun: Bool, force: Bool) async throws -> [LeverStage] {
        struct Cached: Codable { var id: String; var text: String }
        let now = clock()
        if !force, let text = try await store.cachedLookup("lever.stages", freshAfter: now - cacheMs),
           let cached = try? JSONDecoder().decode([Cached].self, from: Data(text.utf8)) {
            return cached.map { LeverStage(id: $0.id, text: $0.text) }
        }
        let stages = try await lever.stages()
        if !dryRun, let data = try? JSONEncoder().encode(stages.map { Cached(id: $0.id, text: $0.text) }) {
            try await store.cacheLookup("lever.stages", value: String(decoding: data, as: UTF8.self), now: now)
        }
        return stages
    }

    /// Whether every stage the configuration names is among `stages`.
    func configuredStagesResolve(in stages: [LeverStage]) -> Bool {
        var names = [config.newApplicantStage]
        for grade in HubertGrade.allCases { if let s = config.autoMove[grade] { names.append(s) } }
        for grades in config.autoMoveByPosting.values { for grade in HubertGrade.allCases { if let s = grades[grade] { names.append(s) } } }
        return names.allSatisfy { StageResolver.resolve($0, in: stages) != nil }
    }

    /// The Lever user id writes are made as (`performAs` may be an id or an e-mail address), cached like stages.
    func resolvePerformAs(dryRun: Bool) async throws -> String? {
        guard let performAs = config.lever.performAs else { return nil }
        guard performAs.contains("@") else { return performAs }
        let key = "lever.performAs." + Planner.fingerprintHash(performAs.lowercased())
        let now = clock()
        if let cached = try await store.cachedLookup(key, freshAfter: now - cacheMs) { return cached }
        let users = try await lever.users(email: performAs)
        guard let user = users.first(where: { $0.deactivatedAt == nil }) ?? users.first else {
            throw PassAbort.configuration("lever.performAs: no active Lever user has the configured e-mail address")
        }
        if !dryRun { try await store.cacheLookup(key, value: user.id, now: now) }
        return user.id
    }

    /// Reads every posting, keeps those with one valid Hubert tag whose template Hubert knows and has active.
    func scanPostings(mode: PassMode, firstSeenDefault: Millis, started: Millis, dryRun: Bool,
                      collector: PassCollector) async throws -> [String: TaggedPosting] {
        let known = try await store.postingTags()
        var tagged: [String: TaggedPosting] = [:]
        var healthy: [String] = []
        var onlyPostings: Set<String>?
        if case .backfill(_, _, let ids) = mode, !ids.isEmpty { onlyPostings = Set(ids) }
        try await lever.forEachPostingPage { page in
            await collector.postingsScanned(page.data.count)
            for failure in page.failures {
                await collector.add(Problem(postingId: failure.id, reason: "undecodable_posting",
                                            message: "posting \(failure.id ?? "without id") could not be read: \(failure.reason)"))
            }
            for posting in page.items {
                if let onlyPostings, !onlyPostings.contains(posting.id) { continue }
                switch Planner.hubertTemplate(tags: posting.tags) {
                case .none:
                    healthy.append(posting.id)
                case .invalid(let reason, let message):
                    await collector.add(Problem(postingId: posting.id, reason: reason, message: "posting \(posting.id): \(message)"))
                case .template(let template):
                    let firstSeen = known[posting.id + "|" + template] ?? firstSeenDefault
                    tagged[posting.id] = TaggedPosting(postingId: posting.id, templateId: template, firstSeen: firstSeen)
                }
            }
        }
        if let onlyPostings {
            for id in onlyPostings.subtracting(tagged.keys).sorted() {
                await collector.add(Problem(postingId: id, reason: "posting_not_tagged",
                                            message: "posting \(id) was named for the backfill but carries no valid Hubert tag"))
            }
        }
        // Templates Hubert does not know, or has archived, take no part.
        var usable: [String: TaggedPosting] = [:]
        var statusByTemplate: [String: String] = [:]
        for posting in tagged.values.sorted(by: { $0.postingId < $1.postingId }) {
            let status: String
            if let known = statusByTemplate[posting.templateId] {
                status = known
            } else {
                status = try await templateStatus(posting.templateId, dryRun: dryRun)
                statusByTemplate[posting.templateId] = status
            }
            switch status {
            case "active":
                usable[posting.postingId] = posting
            case "missing":
                await collector.add(Problem(postingId: posting.postingId, reason: "unknown_template",
                                            message: "posting \(posting.postingId): Hubert does not know template \(posting.templateId)"))
            default:
                await collector.add(Problem(postingId: posting.postingId, reason: "template_inactive",
                                            message: "posting \(posting.postingId): Hubert template \(posting.templateId) is \(status)"))
            }
        }
        if !dryRun, case .live = mode {
            try await store.recordPostingTags(usable.values.map { ($0.postingId, $0.templateId, $0.firstSeen) }, now: started)
            try await store.clearPostingProblems(postingIds: healthy + Array(usable.keys))
        }
        return usable
    }

    /// What Hubert says of a template ("active", "archived", "missing"), cached in the store for an hour.
    func templateStatus(_ templateId: String, dryRun: Bool) async throws -> String {
        let now = clock()
        if let cached = try await store.cachedTemplate(templateId, freshAfter: now - cacheMs) {
            return cached.status
        }
        let template = try await hubert.template(id: templateId)
        let status = template?.status ?? "missing"
        if !dryRun { try await store.cacheTemplate(templateId, status: status, threshold: template?.threshold, now: now) }
        return status
    }

    // MARK: Invitations

    /// Pages through the window's new applications and moves into New applicant on the tagged postings.
    func scanOpportunities(postings: [String: TaggedPosting], window: ClosedRange<Millis>, backfill: Bool,
                           context: PassContext, dryRun: Bool, collector: PassCollector) async throws {
        let ids = postings.keys.sorted()
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(ids.count, start + Self.postingBatch)])
            start += Self.postingBatch
            var created = OpportunityFilter()
            created.postingIds = batch
            created.createdAt = window
            var moved = OpportunityFilter()
            moved.postingIds = batch
            moved.stageIds = [context.newApplicantStageId]
            moved.advancedAt = window
            for filter in [created, moved] {
                try await lever.forEachOpportunityPage(filter) { page in
                    for failure in page.failures {
                        await collector.add(Problem(opportunityId: failure.id, reason: "undecodable_opportunity",
                                                    message: "opportunity \(failure.id ?? "without id") could not be read: \(failure.reason)"),
                                            failed: true)
                    }
                    try await concurrentForEach(page.items, limit: config.concurrency) { opportunity in
                        try await considerOpportunity(opportunity, batch: batch, postings: postings, window: window,
                                                      backfill: backfill, context: context, dryRun: dryRun, collector: collector)
                    }
                    progress?(ProgressEvent(stream: "lever opportunities", items: page.data.count,
                                            position: page.items.last?.createdAt, window: window))
                }
            }
        }
    }

    func considerOpportunity(_ opportunity: LeverOpportunity, batch: [String], postings: [String: TaggedPosting],
                             window: ClosedRange<Millis>, backfill: Bool, context: PassContext, dryRun: Bool,
                             collector: PassCollector) async throws {
        guard await collector.firstSight(opportunity.id) else { return }
        if opportunity.isAnonymized {
            if !dryRun { try await store.purge(opportunityIds: [opportunity.id]) }
            await collector.skip()
            return
        }
        var postingId = opportunity.postingId
        if postingId == nil && batch.count == 1 { postingId = batch[0] }
        if postingId == nil {
            // Lever did not expand the application: ask for it.
            postingId = try await lever.applications(opportunityId: opportunity.id).lazy.compactMap(\.postingId).first
        }
        guard let postingId, let posting = postings[postingId] else { return }
        // The rules first (no I/O); the ledger is read only for someone the rules would invite or report.
        var decision = Planner.decideInvitation(opportunity, posting: posting, newApplicantStageId: context.newApplicantStageId,
                                                window: window, backfill: backfill, alreadyInvited: false, now: clock())
        switch decision {
        case .invite, .problem:
            if try await store.invitation(opportunityId: opportunity.id, templateId: posting.templateId) != nil {
                decision = .alreadyInvited
            }
        case .skip, .alreadyInvited:
            break
        }
        switch decision {
        case .alreadyInvited, .skip(.outsideWindow):
            return
        case .skip(let reason):
            logger.debug("not invited", metadata: ["lever.opportunity.id": "\(opportunity.id)", "reason": "\(reason.rawValue)"])
            await collector.skip()
        case .problem(let problem):
            await collector.add(problem)
        case .invite(let candidate):
            try await invite(opportunity, posting: posting, candidate: candidate, dryRun: dryRun, collector: collector)
        }
    }

    /// Sends one invitation through the ledger: intent first, then the request (with its deterministic
    /// Idempotency-Key), then the outcome.
    func invite(_ opportunity: LeverOpportunity, posting: TaggedPosting, candidate: HubertCandidate, dryRun: Bool,
                collector: PassCollector, intentRecorded: Bool = false) async throws {
        let action = PlannedAction.invite(opportunity.id, postingId: posting.postingId, templateId: posting.templateId)
        if dryRun {
            await collector.add(action)
            return
        }
        let key = HubertClient.idempotencyKey(opportunityId: opportunity.id, templateId: posting.templateId)
        if !intentRecorded {
            let record = InvitationRecord(opportunityId: opportunity.id, templateId: posting.templateId, postingId: posting.postingId,
                                          state: .pending, interviewId: nil, stageAtInvitation: opportunity.stageId)
            guard try await store.recordInvitationIntent(record, idempotencyKey: key, now: clock()) else { return }
            KillPoint.invitationIntentRecorded.reached()
        }
        do {
            let (interview, _) = try await hubert.invite(
                templateId: posting.templateId, candidate: candidate,
                reference: HubertExternalReference(opportunityId: opportunity.id, postingId: posting.postingId),
                idempotencyKey: key)
            KillPoint.invitationAnswered.reached()
            try await store.recordInvitationSent(opportunityId: opportunity.id, templateId: posting.templateId,
                                                 interviewId: interview.id, status: interview.status, now: clock())
            await collector.add(action)
            try await store.clearOpportunityProblems(opportunityId: opportunity.id)
            logger.info("invited", metadata: ["lever.opportunity.id": "\(opportunity.id)", "hubert.interview.id": "\(interview.id)"])
        } catch let error as APIError {
            if error.status == 409, let found = try await findInterview(opportunityId: opportunity.id, templateId: posting.templateId) {
                try await store.recordInvitationSent(opportunityId: opportunity.id, templateId: posting.templateId,
                                                     interviewId: found.id, status: found.status, now: clock())
                return
            }
            let reason = error.code ?? "hubert_\(error.status)"
            try await store.recordInvitationRefused(opportunityId: opportunity.id, templateId: posting.templateId,
                                                    reason: reason, now: clock())
            await collector.add(Problem(opportunityId: opportunity.id, postingId: posting.postingId, reason: reason,
                                        message: "Hubert refused the invitation for opportunity \(opportunity.id): \(error)"),
                                failed: true)
        } catch let error as MaybeAppliedError {
            await collector.add(Problem(opportunityId: opportunity.id, postingId: posting.postingId, reason: "invitation_unconfirmed",
                                        message: "invitation for opportunity \(opportunity.id) not confirmed (\(error.reason)); settled next pass"),
                                failed: true)
        }
    }

    func findInterview(opportunityId: String, templateId: String) async throws -> HubertInterview? {
        try await hubert.interviews(opportunityId: opportunityId).first { $0.templateId == templateId }
    }

    /// Invitations recorded as intended but never confirmed: read back from Hubert; send again only if absent.
    func settlePendingInvitations(context: PassContext, dryRun: Bool, collector: PassCollector) async throws {
        for pending in try await store.pendingInvitations() {
            if let found = try await findInterview(opportunityId: pending.opportunityId, templateId: pending.templateId) {
                if !dryRun {
                    try await store.recordInvitationSent(opportunityId: pending.opportunityId, templateId: pending.templateId,
                                                         interviewId: found.id, status: found.status, now: clock())
                }
                continue
            }
            let posting = TaggedPosting(postingId: pending.postingId, templateId: pending.templateId, firstSeen: 0)
            guard let opportunity = try await lever.opportunity(id: pending.opportunityId) else {
                if !dryRun { try await store.forgetInvitationIntent(opportunityId: pending.opportunityId, templateId: pending.templateId) }
                await collector.add(Problem(opportunityId: pending.opportunityId, postingId: pending.postingId,
                                            reason: "opportunity_not_found",
                                            message: "opportunity \(pending.opportunityId) no longer exists in Lever; invitation dropped"))
                continue
            }
            await _ = collector.firstSight(opportunity.id)
            switch Planner.decideContact(opportunity, posting: posting, now: clock()) {
            case .invite(let candidate):
                try await invite(opportunity, posting: posting, candidate: candidate, dryRun: dryRun, collector: collector,
                                 intentRecorded: true)
            case .problem(let problem):
                if !dryRun { try await store.forgetInvitationIntent(opportunityId: pending.opportunityId, templateId: pending.templateId) }
                await collector.add(problem)
            case .skip, .alreadyInvited:
                if !dryRun { try await store.forgetInvitationIntent(opportunityId: pending.opportunityId, templateId: pending.templateId) }
                await collector.skip()
            }
        }
    }

    // MARK: Results

    /// Completed, expired and cancelled interviews updated since `since` (and not after `until`, for a backfill).
    func scanResults(since: Millis, until: Millis?, postingIds: Set<String> = [], context: PassContext, dryRun: Bool,
                     collector: PassCollector) async throws {
        try await hubert.forEachInterviewPage(updatedSince: since, statuses: ["completed", "expired", "cancelled"]) { page in
            var interviews: [HubertInterview] = []
            for item in page {
                switch item {
                case .value(let interview):
                    if let until, let updated = interview.updatedAt, updated > until { continue }
                    if !postingIds.isEmpty, !postingIds.contains(interview.externalReference?.postingId ?? "") { continue }
                    interviews.append(interview)
                case .failure(let id, let reason):
                    await collector.add(Problem(reason: "undecodable_interview",
                                                message: "Hubert interview \(id ?? "without id") could not be read: \(reason)"),
                                        failed: true)
                }
            }
            try await concurrentForEach(interviews, limit: config.concurrency) { interview in
                try await processInterview(interview, context: context, dryRun: dryRun, collector: collector)
            }
            progress?(ProgressEvent(stream: "hubert interviews", items: page.count, position: interviews.last?.updatedAt,
                                    window: since...(until ?? clock())))
        }
    }

    /// Interviews whose write-back an earlier pass began but did not confirm.
    func settleUnfinishedResults(context: PassContext, dryRun: Bool, collector: PassCollector) async throws {
        for interviewId in try await store.unfinishedResultInterviews() {
            guard let interview = try await hubert.interview(id: interviewId) else { continue }
            try await processInterview(interview, context: context, dryRun: dryRun, collector: collector)
        }
    }

    /// Writes one completed interview's result back to Lever, each step once.
    func processInterview(_ interview: HubertInterview, context: PassContext, dryRun: Bool, collector: PassCollector) async throws {
        guard let reference = interview.externalReference, reference.source == "lever" else { return }
        guard interview.isCompleted, let result = interview.result else {
            if !dryRun { try await store.recordInterviewStatus(interviewId: interview.id, status: interview.status, now: clock()) }
            return
        }
        let fingerprint = result.fingerprint
        let applied = try await store.appliedFingerprint(interviewId: interview.id)
        if applied == fingerprint { return }
        let opportunityId = reference.opportunityId
        guard let opportunity = try await lever.opportunity(id: opportunityId) else {
            await collector.add(Problem(opportunityId: opportunityId, postingId: reference.postingId, reason: "opportunity_not_found",
                                        message: "opportunity \(opportunityId) of Hubert interview \(interview.id) no longer exists in Lever"))
            return
        }
        let invitation = try await store.invitation(opportunityId: opportunityId, templateId: interview.templateId)
        let steps = try await store.resultSteps(interviewId: interview.id, fingerprint: fingerprint)
        let marker = Planner.noteMarker(interviewId: interview.id, fingerprint: fingerprint)
        var noteWritten = steps[.note]?.done ?? false
        if !noteWritten, steps[.note] != nil {
            // An earlier pass sent the note but never saw the answer: look for its marker before writing again.
            let notes = try await lever.notes(opportunityId: opportunityId)
            if notes.contains(where: { $0.texts.contains { $0.contains(marker) } }) {
                noteWritten = true
                if !dryRun {
                    try await store.recordStepDone(interviewId: interview.id, fingerprint: fingerprint, step: .note,
                                                   opportunityId: opportunityId, marker: marker, now: clock())
                }
            }
        }
        let postingId = invitation?.postingId ?? reference.postingId ?? opportunity.postingId
        let state = Planner.ResultState(
            interviewId: interview.id, result: result, opportunity: opportunity, stageAtInvitation: invitation?.stageAtInvitation,
            autoMoveStageId: context.autoMoveStage(result.grade, postingId: postingId), noteWritten: noteWritten,
            alreadyMoved: try await store.hasMoved(interviewId: interview.id))
        let actions = Planner.planResult(state)
        if dryRun {
            for action in actions { await collector.add(action) }
            if !actions.isEmpty { await collector.resultApplied() }
            return
        }
        var logger = self.logger
        logger[metadataKey: "lever.opportunity.id"] = "\(opportunityId)"
        logger[metadataKey: "hubert.interview.id"] = "\(interview.id)"
        do {
            let removals = actions.filter { $0.type == .removeTag }.compactMap(\.tag)
            if !removals.isEmpty {
                try await lever.removeTags(opportunityId: opportunityId, tags: removals, performAs: context.performAs)
                for action in actions where action.type == .removeTag { await collector.add(action) }
            }
            for action in actions where action.type != .removeTag {
                switch action.type {
                case .addTag:
                    try await lever.addTags(opportunityId: opportunityId, tags: [action.tag ?? result.grade.leverTag], performAs: context.performAs)
                    KillPoint.tagsWritten.reached()
                case .addNote:
                    try await store.recordStepIntent(ResultStepRecord(interviewId: interview.id, fingerprint: fingerprint, step: .note,
                                                                      opportunityId: opportunityId, done: false, marker: marker), now: clock())
                    KillPoint.noteIntentRecorded.reached()
                    let text = Planner.noteText(result, interviewId: interview.id, regrade: applied != nil)
                    let noteId: String?
                    do {
                        noteId = try await lever.addNote(opportunityId: opportunityId, text: text, performAs: context.performAs)
                    } catch let error as MaybeAppliedError {
                        // The answer was lost: read the notes back now; only a note with the marker counts as written.
                        let notes = try await lever.notes(opportunityId: opportunityId)
                        guard let found = notes.first(where: { $0.texts.contains { $0.contains(marker) } }) else { throw error }
                        noteId = found.id
                    }
                    KillPoint.noteAnswered.reached()
                    try await store.recordStepDone(interviewId: interview.id, fingerprint: fingerprint, step: .note,
                                                   opportunityId: opportunityId, marker: marker, noteId: noteId, now: clock())
                case .addLink:
                    try await lever.addLinks(opportunityId: opportunityId, links: [action.url ?? ""], performAs: context.performAs)
                    KillPoint.linkWritten.reached()
                case .moveStage:
                    try await lever.moveStage(opportunityId: opportunityId, stageId: action.stageId ?? "", performAs: context.performAs)
                    KillPoint.moveAnswered.reached()
                    try await store.recordStepDone(interviewId: interview.id, fingerprint: fingerprint, step: .move,
                                                   opportunityId: opportunityId, now: clock())
                case .removeTag, .invite:
                    continue
                }
                await collector.add(action)
            }
            try await store.recordResultApplied(interviewId: interview.id, opportunityId: opportunityId, fingerprint: fingerprint,
                                                grade: result.grade, now: clock())
            KillPoint.resultRecorded.reached()
            if !actions.isEmpty {
                await collector.resultApplied()
                logger.info("result written back", metadata: ["grade": "\(result.grade.rawValue)", "actions": "\(actions.count)"])
            }
        } catch let error as APIError {
            await collector.add(Problem(opportunityId: opportunityId, postingId: postingId, reason: "write_back_failed",
                                        message: "writing the Hubert result to opportunity \(opportunityId) failed: \(error)"),
                                failed: true)
        } catch let error as MaybeAppliedError {
            await collector.add(Problem(opportunityId: opportunityId, postingId: postingId, reason: "note_unconfirmed",
                                        message: "note on opportunity \(opportunityId) not confirmed (\(error.reason)); checked next pass"),
                                failed: true)
        }
    }
}

/// Finds a stage by id, exact name, or name ignoring case.
public enum StageResolver {
    public static func resolve(_ nameOrId: String, in stages: [LeverStage]) -> String? {
        if let stage = stages.first(where: { $0.id == nameOrId }) { return stage.id }
        if let stage = stages.first(where: { $0.text == nameOrId }) { return stage.id }
        let folded = nameOrId.lowercased()
        return stages.first(where: { $0.text.lowercased() == folded })?.id
    }
}

/// Runs `body` for every item with at most `limit` running at once; the first error cancels the rest.
func concurrentForEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    guard !items.isEmpty else { return }
    try await withThrowingTaskGroup(of: Void.self) { group in
        var running = 0
        for item in items {
            if running >= max(1, limit) {
                try await group.next()
                running -= 1
            }
            group.addTask { try await body(item) }
            running += 1
        }
        try await group.waitForAll()
    }
}
