import Foundation
import Logging

/// Which window a pass covers.
public enum PassMode: Sendable, Equatable {
    /// Everything since the live checkpoint (what cron runs).
    case live
    /// An explicit past window; never moves the live checkpoint.
    case backfill(since: Millis, until: Millis, postingIds: [String])

    /// `run` or `backfill`, as reports and the run history name it.
    public var name: String { if case .live = self { "run" } else { "backfill" } }
    var isLive: Bool { self == .live }
}

/// Ids resolved once per pass from names in the configuration.
struct PassContext: Sendable {
    var newApplicantStageId: String
    var performAs: String?
    var autoMoves: AutoMoves
}

/// One reconciling pass: observe (Lever, Hubert, the store) → plan (pure rules in `Planner`) → apply (through the
/// `Effects` the pass is given) → record (checkpoints, run row) → report. A dry run is the same computation given
/// `DryRunEffects`.
///
/// The phases live beside this file, in the order a pass runs them: `Windows.swift`, `Context.swift` (stages,
/// perform-as), `Postings.swift` (tagged postings and their templates), `SettleInvitations.swift`,
/// `Invitations.swift` (who is invited), `Results.swift` (what a result writes back), `Effects.swift` (the seam),
/// `SendInvitation.swift` and `WriteBack.swift` (the live effects), `Erasure.swift`, `PassReport.swift` and
/// `ReportStream.swift` (the report).
public struct SyncEngine: Sendable {
    public static let leverStream = "lever.opportunities"
    public static let hubertStream = "hubert.interviews"
    /// Posting ids per opportunities query (repeated `posting_id` keys): 100 postings cost one query per window.
    static let postingBatch = 100
    /// How long a run that did nothing is kept (`run.idle`): the last day of them is history enough.
    static let idleRunRetentionMs: Millis = 86_400_000
    /// How long cached lookups (stages, perform-as user, template states) are trusted.
    var cacheMs: Millis { Millis(config.cacheMinutes) * 60_000 }
    /// How long a failing write-back or an unconfirmed intent is tried again before it is given up.
    var giveUpMs: Millis { Millis(config.giveUpAfterDays) * 86_400_000 }
    /// How long a held-back candidate is decided again before it is given up.
    var holdMs: Millis { Millis(config.holdDays) * 86_400_000 }

    let config: AppConfig
    let store: Store
    let lever: LeverClient
    let hubert: HubertClient
    let requests: RequestLedger
    let logger: Logger
    let clock: @Sendable () -> Millis
    /// Told after each page (a terminal progress line); nil for none.
    public var progress: ProgressSink?
    /// Asked when the pass is over: a failure that decides the exit even though the pass itself went through (a
    /// refreshed Lever grant that could not be saved: exit 77 naming the token file).
    public var afterPass: (@Sendable () async -> PassAbort?)?

    public init(
        config: AppConfig, store: Store, lever: LeverClient, hubert: HubertClient, requests: RequestLedger,
        logger: Logger, clock: @escaping @Sendable () -> Millis = { Date().millis }, progress: ProgressSink? = nil
    ) {
        self.config = config
        self.store = store
        self.lever = lever
        self.hubert = hubert
        self.requests = requests
        self.logger = logger
        self.clock = clock
        self.progress = progress
    }

    /// Runs one pass and reports it. Never throws: failures become the report's exit code and message. With a
    /// `stream`, the actions go into it as they are decided and the report's `actions` stay empty (the caller
    /// finishes the stream with the report, which writes both).
    public func run(
        mode: PassMode, dryRun: Bool, runId: String = UUID().uuidString.lowercased(), stream: ReportStream? = nil
    ) async -> PassReport {
        var logger = self.logger
        logger[metadataKey: "run.id"] = "\(runId)"
        let started = clock()
        let collector = PassCollector(stream: stream)
        await collector.setDeadline(started + Millis(config.passDeadlineMinutes) * 60_000)
        await startFromLearnedRates(logger: logger)
        // The one place a dry run differs from a run: the effects the pass is given.
        let effects: any Effects = dryRun ? DryRunEffects() : LiveEffects(engine: self)
        var exitCode: Int32 = 0
        var message: String?
        do {
            try await effects.record { try await store.recordRunStart(id: runId, kind: mode.name, now: started) }
            try await pass(mode: mode, effects: effects, started: started, collector: collector, logger: logger)
        } catch let abort as PassAbort {
            exitCode = abort.exitCode
            message = abort.description
            logger.error("pass stopped", metadata: ["reason": "\(abort.description)", "exit": "\(exitCode)"])
        } catch is CancellationError {
            exitCode = ExitStatus.temporary.code
            message = "pass stopped by a signal (SIGTERM or SIGINT); what was in flight is settled by the next pass"
            logger.notice("pass stopped by a signal")
        } catch {
            exitCode = ExitStatus.temporary.code
            message = "unexpected error: \(error)"
            logger.error("pass failed", metadata: ["error": "\(error)"])
        }
        if let abort = await afterPass?(), exitCode != abort.exitCode {
            exitCode = abort.exitCode
            message = abort.description
            logger.error("pass finished, but", metadata: ["reason": "\(abort.description)", "exit": "\(exitCode)"])
        }
        let finished = clock()
        // How long each item has had its problem: since the first pass that recorded it (or this one).
        var problems = await collector.reportedProblems
        let firstSeen = (try? await store.problemsFirstSeen(problems)) ?? []
        for index in problems.indices {
            let since = index < firstSeen.count ? firstSeen[index] ?? started : started
            problems[index].failingSince = RFC3339.format(min(since, started))
        }
        let report = PassReport(
            runId: runId, dryRun: dryRun, mode: mode.name, paused: config.paused, counts: await collector.counts,
            actions: await collector.actions, problems: problems,
            requests: RequestCounts(lever: await requests.requests(.lever), hubert: await requests.requests(.hubert)),
            exitCode: exitCode, message: message, startedAt: RFC3339.format(started), durationMs: finished - started)
        let rates = await learnedRates(now: finished, logger: logger)
        try? await effects.record {
            // Recorded outside the pass's task: a pass cancelled by SIGTERM is still recorded, with exit 75.
            let (store, logger, exitCode, message) = (self.store, logger, exitCode, message)
            await Task.detached {
                do {
                    try await store.recordProblems(report.problems, runId: runId, now: finished)
                    let counts =
                        String(data: (try? JSONEncoder().encode(report.counts)) ?? Data(), encoding: .utf8) ?? "{}"
                    try await store.recordRunEnd(
                        id: runId, kind: report.mode, startedAt: started, exitCode: exitCode,
                        countsJSON: counts,
                        leverRequests: report.requests.lever,
                        hubertRequests: report.requests.hubert, message: message,
                        idle: report.counts.isIdle && report.problems.isEmpty, now: finished)
                    var counters = ["runs.\(report.mode).\(exitCode)": 1]
                    for field in PassCounts.fields where field.lifetimeHelp != nil {
                        counters[field.name] = field.value(report.counts)
                    }
                    try await store.addToCounters(counters)
                    try await store.keepLearnedRates(rates)
                } catch {
                    logger.error("could not record the run", metadata: ["error": "\(error)"])
                }
            }.value
        }
        logger.info(
            "pass finished",
            metadata: [
                "exit": "\(exitCode)", "invitations": "\(report.counts.invitationsSent)",
                "results": "\(report.counts.resultsApplied)", "problems": "\(report.problems.count)",
                "lever.requests": "\(report.requests.lever)", "hubert.requests": "\(report.requests.hubert)",
                "dry_run": "\(dryRun)",
            ])
        return report
    }

    private func pass(mode: PassMode, effects: any Effects, started: Millis, collector: PassCollector, logger: Logger)
        async throws
    {
        if config.paused {
            logger.notice("sync is paused by configuration (sync.paused): nothing read, nothing written")
            return
        }
        let context = try await resolveContext(effects: effects)
        let windows = try await liveWindows(started: started, logger: logger)

        // Postings and their templates, then what an earlier pass left unconfirmed, before anything new.
        let pending = try await store.pendingInvitations()
        var postings = try await scanPostings(
            mode: mode, read: try await postingRead(mode: mode, started: started),
            previousCheckpoint: windows.leverCheckpoint, windowStart: windows.lever?.lowerBound, started: started,
            effects: effects, collector: collector)
        if needsFullPostingRead(postings, pending: pending) {
            postings = try await scanPostings(
                mode: mode, read: .full, previousCheckpoint: windows.leverCheckpoint,
                windowStart: windows.lever?.lowerBound, started: started,
                effects: effects, collector: collector)
        }
        // What earlier passes left may be failing for days: never taken for the service failing (`settling`).
        try await RequestLedger.$settling.withValue(true) {
            try await settlePendingInvitations(
                pending, postings: postings, skewed: windows.skewed, effects: effects, collector: collector)
        }
        if case .live = mode, !windows.skewed {
            try await giveUpHolds(started: started, effects: effects, collector: collector)
        }

        let window: ClosedRange<Millis>?
        let backfill: Bool
        switch mode {
        case .live:
            backfill = false
            window = windows.lever
        case .backfill(let since, let until, _):
            backfill = true
            window = Planner.range(since, until)
        }
        // Invitations (Hubert-bound) and results (Lever-bound) touch different opportunities and different budgets,
        // so they run side by side: a pass takes about as long as its busier service needs.
        async let invitations: Void = {
            guard let window else {
                logger.info("first pass on this database: baseline set, nobody who applied before now is invited")
                return
            }
            try await untilDeadline {
                try await scanOpportunities(
                    postings: mode.isLive ? postings.scanned : postings.usable, window: window, backfill: backfill,
                    context: context, effects: effects, collector: collector)
            }
        }()
        async let results: Void = {
            try await RequestLedger.$settling.withValue(true) {
                try await settleUnfinishedResults(
                    mode: mode, skewed: windows.skewed, context: context, effects: effects,
                    collector: collector)
            }
            try await untilDeadline {
                switch mode {
                case .live:
                    if let since = windows.hubertSince {
                        try await scanResults(
                            since: since, until: nil, context: context, effects: effects, collector: collector)
                    }
                case .backfill(let since, let until, let postingIds):
                    try await scanResults(
                        since: since, until: until, postingIds: Set(postingIds), revive: true,
                        context: context, effects: effects, collector: collector)
                }
            }
        }()
        try await invitations
        try await results

        // Erasure: what either side forgot during the pass is purged once more after both (a row written by the
        // other side in between goes too). Retention: forget what Lever deleted; prune what is old — but not on the
        // word of a clock found out of step (it would prune the history the next window is anchored on).
        let erased = await collector.erased
        if !erased.isEmpty { try await effects.record { try await store.purge(opportunityIds: Array(erased)) } }
        // At the deadline: what finished is recorded (above and as it went); nothing is pruned and no checkpoint
        // moves, so the next pass covers the unfinished part of the window again.
        if await collector.deadlineReached { throw PassAbort.deadline(minutes: config.passDeadlineMinutes) }
        if case .live = mode, let window = windows.lever {
            try await effects.record {
                try await purgeDeletedIfDue(windowStart: window.lowerBound, started: started, collector: collector)
                if !windows.skewed {
                    let pruned = try await store.prune(
                        before: started - Millis(config.retentionDays) * 86_400_000,
                        idleRunsBefore: started - Self.idleRunRetentionMs)
                    if pruned > 0 { logger.info("pruned old records", metadata: ["rows": "\(pruned)"]) }
                }
            }
        }

        // Record: the checkpoint moves only now that the whole window is processed.
        if case .live = mode {
            try await effects.record {
                KillPoint.beforeCheckpoint.reached()
                try await store.setCheckpoints([Self.leverStream: started, Self.hubertStream: started], now: clock())
                try await store.clearCorrectedMalformed(upTo: started)
            }
        }
    }
}
