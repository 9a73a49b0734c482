import Foundation
import Logging

/// The pass a session has under way (or had last), as `stop` needs it.
struct CurrentPass: Sendable {
    /// Whether `stop` was called: a pass that starts afterwards is stopped at once.
    var stopping = false
    var runtime: SyncRuntime?
    var task: Task<PassReport, Never>?
    var runId: String?
    var mode: PassMode?
    var started: Millis = 0
    var finished = false
}

extension PassSession {
    /// How long a stopped pass has to unwind before its run is recorded from here instead.
    public static let unwindSeconds = 7.0

    /// Stops the pass cooperatively (SIGTERM, SIGINT): its transfers in flight are aborted within about a second,
    /// what was begun is left to the ledger's rules (intents stay pending and are settled by the next pass), and the
    /// pass records its run with exit 75 and sends the finish ping. Should it not unwind within `unwindSeconds`, a
    /// last resort records the run (and pings) from here. A pass that starts after this is stopped at once. Returns
    /// false, doing nothing, when the session was stopping already.
    @discardableResult
    public func stop(signal number: Int32) -> Bool {
        let (first, runtime, task) = current.withLock { pass in
            defer { pass.stopping = true }
            return (!pass.stopping, pass.runtime, pass.task)
        }
        guard first else { return false }
        logger.notice("signal received: stopping the pass", metadata: ["signal": "\(number)"])
        if let runtime, let task { stopPass(runtime, task) }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.unwindSeconds) { self.recordUnfinishedPass() }
        return true
    }

    /// Aborts a pass's HTTP and cancels its task.
    func stopPass(_ runtime: SyncRuntime, _ task: Task<PassReport, Never>) {
        runtime.abort.trip()
        task.cancel()
    }

    /// The last resort of `stop`: the pass did not unwind in time, so its run is recorded (exit 75) and the finish
    /// ping sent from here.
    private func recordUnfinishedPass() {
        let pass = current.withLock { $0 }
        guard let runId = pass.runId, let mode = pass.mode, !pass.finished else { return }
        let (store, ping, status) = (store, ping, ExitStatus.temporary)
        Task.detached {
            try? await store.recordRunEnd(
                id: runId, kind: mode.name, startedAt: pass.started, exitCode: status.code, countsJSON: "{}",
                leverRequests: 0, hubertRequests: 0,
                message: "stopped by a signal; the pass did not unwind in time", now: Date().millis)
            if let ping {
                await ping.ping(HealthPing.suffix(exitCode: status.code), runId: runId, body: "stopped by a signal")
            }
        }
    }
}
