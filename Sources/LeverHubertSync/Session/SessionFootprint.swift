import Foundation
import Logging

/// What a session may change outside Lever and Hubert, chosen once, from `dryRun`, when the session opens.
///
/// A live session takes the run lock (creating its file beside the database), opens the database for writing, pings
/// the health check and writes the metrics file. A dry run creates and changes no file: it takes the run lock only
/// when its file exists (so that it never overlaps a writing run, and waits for nobody else), opens an existing
/// database read-only (a missing one is an empty in-memory store), sends no ping and leaves the metrics file as it
/// is. The pass itself is the same computation, given `DryRunEffects` by the engine.
struct SessionFootprint: Sendable {
    /// Whether this is a dry run.
    let dryRun: Bool
    /// Takes the run lock for a database path (nil: none is needed).
    let takeLock: @Sendable (String) throws -> RunLock?
    /// Whether the health check is pinged and the metrics file written.
    let reportsOutside: Bool

    /// The one place a dry run's session differs from a live one.
    init(dryRun: Bool) {
        self.dryRun = dryRun
        reportsOutside = !dryRun
        // With Lever OAuth too: a refresh is guarded by the token file's own lock, not by the run lock.
        if dryRun {
            takeLock = { path in try RunLock.ifPresent(databasePath: path) }
        } else {
            takeLock = { path in try RunLock(databasePath: path) }
        }
    }

    /// Opens the store at `path`: for writing, or (dry run) read-only or in memory.
    func openStore(_ path: String) throws -> Store {
        try SyncRuntime.openStore(path: path, dryRun: dryRun)
    }

    /// The health check to ping, if the configuration names one and the session may ping it.
    func healthPing(_ config: AppConfig) -> HealthPing? {
        reportsOutside ? config.healthcheckURL.map { HealthPing(url: $0) } : nil
    }

    /// The metrics file to write, if one was asked for and the session may write it. A dry run must not replace the
    /// cron run's series in the textfile (nor create a file at all): it says so and writes nothing.
    func metricsFile(_ path: String?, logger: Logger) -> String? {
        guard let path, !reportsOutside else { return path }
        logger.notice("dry run: the metrics file is left as it is", metadata: ["path": "\(path)"])
        return nil
    }
}
