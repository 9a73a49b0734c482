import Foundation
import Logging

/// Observe, first: the windows a live pass covers, from the stored checkpoints and the clock.
extension SyncEngine {
    var lookbackMs: Millis { Millis(config.lookbackMinutes) * 60_000 }

    /// The live windows of this pass, from the stored checkpoints and the clock.
    struct Windows {
        var leverCheckpoint: Millis?
        /// Lever's window (nil on the first pass: the baseline).
        var lever: ClosedRange<Millis>?
        /// Where Hubert's list starts (nil on the first pass).
        var hubertSince: Millis?
        /// Whether a checkpoint lay in the future (the clock stepped back).
        var skewed = false
    }

    /// Reads the checkpoints and turns them into windows that never trap: a checkpoint in the future (the clock ran
    /// ahead and was stepped back, a VM resumed from a snapshot, a database copied from another host) starts the
    /// window at the last moment this database was in step with the present, and is reported.
    func liveWindows(started: Millis, logger: Logger) async throws -> Windows {
        let leverCheckpoint = try await store.checkpoint(Self.leverStream)
        let hubertCheckpoint = try await store.checkpoint(Self.hubertStream)
        var anchor: Millis?
        let skewed = [leverCheckpoint, hubertCheckpoint].contains(where: { ($0 ?? 0) > started })
        if skewed { anchor = try await store.lastCleanRunStart(notAfter: started) }
        func start(_ checkpoint: Millis?, stream: String) -> Millis? {
            guard let checkpoint else { return nil }
            let (start, skew) = Planner.windowStart(
                checkpoint: checkpoint, now: started, lookbackMs: lookbackMs,
                lastInStep: anchor)
            if let skew {
                logger.warning(
                    "checkpoint lies in the future: the clock stepped back",
                    metadata: [
                        "stream": "\(stream)", "checkpoint": "\(RFC3339.format(checkpoint))",
                        "now": "\(RFC3339.format(started))", "skew_seconds": "\(skew / 1000)",
                        "window_start": "\(RFC3339.format(start))",
                    ])
            }
            return start
        }
        let leverStart = start(leverCheckpoint, stream: Self.leverStream)
        return Windows(
            leverCheckpoint: leverCheckpoint, lever: leverStart.map { Planner.range($0, started) },
            hubertSince: start(hubertCheckpoint, stream: Self.hubertStream), skewed: skewed)
    }
}
