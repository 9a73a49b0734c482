import Foundation
import Logging

/// A failure before any pass began (the configuration, the run lock, the database): the exit status it means and a
/// message for the operator. Never carries a secret.
public struct SessionFailure: Error, Sendable, CustomStringConvertible {
    /// The exit status this failure means.
    public let status: ExitStatus
    /// What happened.
    public let message: String
    public var description: String { message }
}

/// The clients and the engine of one pass, wired from a session's configuration and store.
public struct PassWiring: Sendable {
    /// Transports, rate budgets, request counts, the Lever (with its OAuth token handling) and Hubert clients.
    public let runtime: SyncRuntime
    /// The engine over the session's store.
    public var engine: SyncEngine
}

/// Everything a pass needs, in the order it needs it: configuration → run lock → store → clients (Lever, with its
/// OAuth token handling, and Hubert) → `SyncEngine` → report. `run`, `backfill`, `demo` and the in-process tests
/// all open one; nothing else wires an engine for a pass.
///
/// A session is opened once (`open`, or `init` with a configuration already resolved), runs one pass (`run`,
/// `backfill`) or several (`demo`), each with fresh clients (`pass`), and is closed (`close`). Whether it is a dry
/// run is decided once, when it opens (`SessionFootprint`).
public final class PassSession: Sendable {
    /// The configuration the session's passes run with.
    public let config: AppConfig
    /// The database the session holds.
    public let store: Store
    /// Whether the session's passes are dry runs.
    public var dryRun: Bool { footprint.dryRun }
    let footprint: SessionFootprint
    let logger: Logger
    let clock: @Sendable () -> Millis
    /// The health check, when the configuration names one and the session may ping it.
    let ping: HealthPing?
    private let lock: Locked<RunLock?>
    /// The pass under way (or the last one), for `stop`.
    let current = Locked(CurrentPass())

    /// Loads the configuration (file and environment; `deadlineMinutes`, when given, overrides
    /// `sync.passDeadlineMinutes`), logs its warnings, and opens a session on it.
    public static func open(
        configPath: String?, databaseOverride: String?, environment: [String: String], deadlineMinutes: Int? = nil,
        dryRun: Bool, logger: Logger
    ) throws(SessionFailure) -> PassSession {
        var config: AppConfig
        do {
            let loaded = try ConfigLoader.load(
                path: configPath, databaseOverride: databaseOverride, environment: environment)
            config = loaded.config
            if let deadlineMinutes { config.passDeadlineMinutes = deadlineMinutes }
            for warning in loaded.warnings {
                logger.warning("configuration warning", metadata: ["detail": "\(warning)"])
            }
        } catch {
            throw SessionFailure(status: .configuration, message: "\(error)")
        }
        return try PassSession(config: config, dryRun: dryRun, logger: logger)
    }

    /// Takes the run lock and opens the store for `config`. `clock` is the engine's (tests move it).
    public init(
        config: AppConfig, dryRun: Bool, logger: Logger, clock: @escaping @Sendable () -> Millis = { Date().millis }
    ) throws(SessionFailure) {
        let footprint = SessionFootprint(dryRun: dryRun)
        let lock: RunLock?
        do {
            lock = try footprint.takeLock(config.databasePath)
        } catch let abort as PassAbort {
            throw SessionFailure(status: abort.status, message: "\(abort)")
        } catch {
            throw SessionFailure(status: .temporary, message: "\(error)")
        }
        do {
            store = try footprint.openStore(config.databasePath)
        } catch {
            // Busy or locked is temporary; anything else (a path that cannot be created or read) is configuration.
            throw SessionFailure(
                status: Store.isBusy(error) ? .temporary : .configuration,
                message: "cannot open the database \(config.databasePath): \(error)")
        }
        self.config = config
        self.footprint = footprint
        self.logger = logger
        self.clock = clock
        self.lock = Locked(lock)
        ping = footprint.healthPing(config)
    }

    /// The clients and the engine a pass of this session runs with: fresh ones each time (their own rate budgets,
    /// retry budget and request counts).
    public func wire(logger: Logger? = nil) -> PassWiring {
        Self.wire(config: config, store: store, logger: logger ?? self.logger, clock: clock)
    }

    static func wire(
        config: AppConfig, store: Store, logger: Logger, clock: @escaping @Sendable () -> Millis
    ) -> PassWiring {
        let runtime = SyncRuntime(config: config, logger: logger)
        return PassWiring(runtime: runtime, engine: runtime.engine(store: store, clock: clock))
    }

    /// Runs one pass and reports it: the health check's start ping, the engine's pass (cancelled by `stop`), the
    /// metrics file, the finish ping. Never throws: failures are the report's exit code and message. With a `stream`
    /// the actions are spooled into it as they are decided (the caller finishes it with the report). `wiring`:
    /// clients and engine made beforehand with `wire` (a test that looks inside them); fresh ones otherwise.
    public func pass(
        mode: PassMode, runId: String = UUID().uuidString.lowercased(), stream: ReportStream? = nil,
        progress: TerminalProgress? = nil, metricsFile: String? = nil, wiring: PassWiring? = nil
    ) async -> PassReport {
        var logger = self.logger
        logger[metadataKey: "run.id"] = "\(runId)"
        let started = Date().millis
        // Known before the start ping: a signal while it hangs still leaves a recorded run.
        current.withLock { pass in
            pass = CurrentPass(stopping: pass.stopping, runId: runId, mode: mode)
            pass.started = started
        }
        if let ping, await !ping.ping("start", runId: runId) {
            logger.warning("health-check start ping failed")
        }
        var wiring = wiring ?? wire(logger: logger)
        wiring.engine.progress = progress?.sink
        let (engine, dryRun) = (wiring.engine, footprint.dryRun)
        let task = Task { await engine.run(mode: mode, dryRun: dryRun, runId: runId, stream: stream) }
        let stopping = current.withLock { pass in
            pass = CurrentPass(stopping: pass.stopping, runtime: wiring.runtime, task: task, runId: runId, mode: mode)
            pass.started = started
            return pass.stopping
        }
        if stopping { stopPass(wiring.runtime, task) }
        let report = await task.value
        current.withLock { $0.finished = true }
        progress?.finish()
        if let path = footprint.metricsFile(metricsFile, logger: logger) {
            await writeMetrics(report, requests: wiring.runtime.requests, to: path, logger: logger)
        }
        if let ping,
            await !ping.ping(HealthPing.suffix(exitCode: report.exitCode), runId: runId, body: report.summaryLine)
        {
            logger.warning("health-check ping failed")
        }
        return report
    }

    /// Closes the database, then gives up the run lock: the WAL is folded back first, so that a reader (a dry run)
    /// finds one file. A failure to close is logged, never thrown.
    public func close() {
        do { try store.close() } catch {
            logger.warning("could not close the database", metadata: ["error": "\(error)"])
        }
        lock.withLock { $0 = nil }
    }

    /// Explains one opportunity (`explain`) from the store and one read of it: the database opened read-only (a
    /// missing one is empty), no run lock taken, nothing written. Throws what the engine throws.
    public static func explain(opportunityId: String, config: AppConfig, logger: Logger) async throws -> Explanation {
        let store = try SyncRuntime.openStore(path: config.databasePath, dryRun: true)
        let wiring = wire(config: config, store: store, logger: logger, clock: { Date().millis })
        return try await wiring.engine.explain(opportunityId: opportunityId)
    }
}
