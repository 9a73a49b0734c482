import ArgumentParser
import Foundation
import GRDB
import LeverHubertSync
import Logging

/// `run`: one reconciling pass over everything new since the last checkpoint.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "One reconciling pass: everything new since the last checkpoint (what cron runs)."
    )

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Compute the same plan and write nothing anywhere.")
    var dryRun = false

    @Option(name: .long, help: "Write a Prometheus textfile-collector file here at the end of the run (atomically).")
    var metricsFile: String?

    func run() async throws {
        throw ExitCode(await PassRunner.execute(common: common, mode: .live, dryRun: dryRun, metricsFile: metricsFile))
    }
}

/// `backfill`: the same pass over an explicit past window.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill", abstract: "A pass over an explicit past window; never moves the live checkpoint.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Window start: a date (2026-11-01, UTC) or an RFC 3339 timestamp.")
    var since: String

    @Option(name: .long, help: "Window end (default: now); a date means the end of that day (UTC).")
    var until: String?

    @Option(name: .long, help: "Only this posting id (repeatable).")
    var posting: [String] = []

    @Option(
        name: .long,
        help: "Stop taking new work after this many minutes and exit 75 (default: sync.passDeadlineMinutes).")
    var deadlineMinutes: Int?

    @Flag(name: .long, help: "Compute the same plan and write nothing anywhere.")
    var dryRun = false

    @Option(name: .long, help: "Write a Prometheus textfile-collector file here at the end of the run (atomically).")
    var metricsFile: String?

    func validate() throws {
        guard let start = DateArgument.parse(since, endOfDay: false) else {
            throw ValidationError("--since \(since) is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")
        }
        if let until {
            guard let end = DateArgument.parse(until, endOfDay: true) else {
                throw ValidationError("--until \(until) is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")
            }
            guard end >= start else { throw ValidationError("--until is before --since") }
        }
        if let deadlineMinutes, !(1...10_080).contains(deadlineMinutes) {
            throw ValidationError("--deadline-minutes must be between 1 and 10080")
        }
    }

    func run() async throws {
        let start = DateArgument.parse(since, endOfDay: false) ?? 0
        let end = until.flatMap { DateArgument.parse($0, endOfDay: true) } ?? Date().millis
        throw ExitCode(
            await PassRunner.execute(
                common: common, mode: .backfill(since: start, until: end, postingIds: posting),
                dryRun: dryRun, metricsFile: metricsFile, deadlineMinutes: deadlineMinutes))
    }
}

/// Reads the dates of `backfill`.
enum DateArgument {
    static func parse(_ text: String, endOfDay: Bool) -> Millis? {
        if let millis = RFC3339.parse(text) { return millis }
        guard text.count == 10, let midnight = RFC3339.parse(text + "T00:00:00Z") else { return nil }
        return endOfDay ? midnight + 86_400_000 - 1 : midnight
    }
}

/// What `run` and `backfill` share: configuration, lock, store, pass, output, exit status.
enum PassRunner {
    static func execute(
        common: CommonOptions, mode: PassMode, dryRun: Bool, metricsFile: String?, deadlineMinutes: Int? = nil
    ) async -> Int32 {
        let runId = UUID().uuidString.lowercased()
        var logger = Bootstrap.logger(common)
        logger[metadataKey: "run.id"] = "\(runId)"
        var config: AppConfig
        do {
            let loaded = try ConfigLoader.load(
                path: common.config, databaseOverride: common.database,
                environment: ProcessInfo.processInfo.environment)
            config = loaded.config
            if let deadlineMinutes { config.passDeadlineMinutes = deadlineMinutes }
            for warning in loaded.warnings {
                logger.warning("configuration warning", metadata: ["detail": "\(warning)"])
            }
        } catch {
            return Bootstrap.fail(
                common, code: ExitStatus.configuration.code, message: "\(error)", runId: runId, mode: mode.name,
                dryRun: dryRun)
        }
        let lock: RunLock?
        do {
            // A dry run creates and changes no file: no lock file, no directory, the database opened read-only.
            // With Lever OAuth too: a refresh is guarded by the token file's own lock, not by the run lock.
            lock =
                dryRun
                ? try RunLock.ifPresent(databasePath: config.databasePath)
                : try RunLock(databasePath: config.databasePath)
        } catch let abort as PassAbort {
            return Bootstrap.fail(
                common, code: abort.exitCode, message: "\(abort)", runId: runId, mode: mode.name,
                dryRun: dryRun)
        } catch {
            return Bootstrap.fail(
                common, code: ExitStatus.temporary.code, message: "\(error)", runId: runId, mode: mode.name,
                dryRun: dryRun)
        }
        let store: Store
        do {
            store = try SyncRuntime.openStore(path: config.databasePath, dryRun: dryRun)
        } catch {
            // Busy or locked is temporary; anything else (a path that cannot be created or read) is configuration.
            return Bootstrap.fail(
                common, code: Store.isBusy(error) ? ExitStatus.temporary.code : ExitStatus.configuration.code,
                message: "cannot open the database \(config.databasePath): \(error)",
                runId: runId, mode: mode.name, dryRun: dryRun)
        }
        let ping = config.healthcheckURL.map { HealthPing(url: $0) }
        if let ping, !dryRun, await !ping.ping("start", runId: runId) {
            logger.warning("health-check start ping failed")
        }
        let runtime = SyncRuntime(config: config, logger: logger)
        var engine = runtime.engine(store: store)
        let progress = TerminalProgress.forStderr()
        engine.progress = progress?.sink
        // SIGTERM/SIGINT: stop cooperatively. Transfers in flight are aborted (within about a second), what was
        // begun is left to the ledger's rules (intents stay pending and are settled next pass), the run is recorded
        // with exit 75 and the finish ping is sent. The watcher is in place before the pass starts; should the pass
        // not unwind in time, a last resort records the run, and the process exits 75 within 10 s of the signal.
        let passEngine = engine
        let finished = Once()
        let stopping = Once()
        let signalLogger = logger
        let passTask = Locked<Task<PassReport, Never>?>(nil)
        let started = Date().millis
        let watcher = SignalWatcher { number in
            guard stopping.set() else { return }
            signalLogger.notice("signal received: stopping the pass", metadata: ["signal": "\(number)"])
            runtime.abort.trip()
            passTask.withLock { $0?.cancel() }
            DispatchQueue.global().asyncAfter(deadline: .now() + 7) {
                guard !finished.isSet else { return }
                Task.detached {
                    try? await store.recordRunEnd(
                        id: runId, kind: mode.name, startedAt: started,
                        exitCode: ExitStatus.temporary.code, countsJSON: "{}", leverRequests: 0,
                        hubertRequests: 0,
                        message: "stopped by a signal; the pass did not unwind in time",
                        now: Date().millis)
                    if let ping, !dryRun { await ping.ping("75", runId: runId, body: "stopped by a signal") }
                }
            }
            // Whatever is still running then: the promise is an exit within 10 s of the signal, except while a
            // rotated Lever grant is being made durable (cutting that off would lose the grant): then the exit
            // waits for it, a few seconds at most (a refresh begun before the signal ends within its own timeout).
            DispatchQueue.global().asyncAfter(deadline: .now() + 9.5) {
                TokenFile.inFlight.waitUntilIdle(seconds: 5)
                _exit(ExitStatus.temporary.code)
            }
        }
        // With --json the actions are spooled as they are decided (memory stays flat) and printed with the rest after.
        let stream = common.json ? ReportStream() : nil
        let pass = Task { await passEngine.run(mode: mode, dryRun: dryRun, runId: runId, stream: stream) }
        passTask.withLock { $0 = pass }
        if stopping.isSet { pass.cancel() }
        let report = await pass.value
        _ = finished.set()
        progress?.finish()
        if let metricsFile, dryRun {
            // A dry run must not replace the cron run's series in the textfile (nor create a file at all).
            logger.notice("dry run: the metrics file is left as it is", metadata: ["path": "\(metricsFile)"])
        } else if let metricsFile {
            do {
                let status = try await StatusReport.load(
                    store: store, now: Date().millis, staleAfterDays: config.staleAfterDays)
                let previous = try? String(contentsOfFile: metricsFile, encoding: .utf8)
                let text =
                    MetricsFile.render(
                        report: report, status: status, lastSuccess: try await store.lastSuccess(),
                        httpCounts: await runtime.requests.snapshot(),
                        counters: try await store.counters(), previous: previous,
                        now: Date().millis)
                    + FunnelMetrics.latencyHistogram(latencies: try await store.inviteLatencies(runId: report.runId))
                try MetricsFile.write(text, to: metricsFile)
            } catch {
                logger.warning("could not write the metrics file", metadata: ["error": "\(error)"])
            }
        }
        if let ping, !dryRun,
            await !ping.ping(
                HealthPing.suffix(exitCode: report.exitCode), runId: runId,
                body: ReportText.summaryLine(report))
        {
            logger.warning("health-check ping failed")
        }
        // Close the database before the lock goes: the WAL is folded back, and a reader (a dry run) finds one file.
        do { try store.close() } catch {
            logger.warning("could not close the database", metadata: ["error": "\(error)"])
        }
        withExtendedLifetime(lock) {}
        withExtendedLifetime(watcher) {}
        if let stream {
            stream.finish(report)
        } else {
            print(ReportText.render(report))
        }
        return report.exitCode
    }
}
