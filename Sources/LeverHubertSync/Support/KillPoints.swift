import Foundation

/// Named points between a write and its ledger record where the crash test kills the process for real
/// (SIGKILL). Inert unless `LHS_TEST_KILL_AT=<point>:<n>` is set in the environment: the n-th time the
/// point is reached, the process kills itself. Used only by the test suite to prove exactly-once delivery.
public enum KillPoint: String, Sendable, CaseIterable {
    case invitationIntentRecorded = "invite.intent"
    case invitationAnswered = "invite.answered"
    case noteIntentRecorded = "note.intent"
    case noteAnswered = "note.answered"
    case tagsWritten = "tags.written"
    case linkWritten = "link.written"
    case moveAnswered = "move.answered"
    case resultRecorded = "result.recorded"
    case beforeCheckpoint = "checkpoint.before"

    private static let target: (point: String, count: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["LHS_TEST_KILL_AT"], let colon = spec.lastIndex(of: ":"),
            let count = Int(spec[spec.index(after: colon)...])
        else { return nil }
        return (String(spec[..<colon]), count)
    }()
    private static let hits = Locked(0)

    /// Marks that execution reached this point.
    public func reached() {
        guard let target = Self.target, target.point == rawValue else { return }
        let count = Self.hits.withLock { value -> Int in
            value += 1
            return value
        }
        if count == target.count { kill(getpid(), SIGKILL) }
    }
}

/// A small lock-protected value (named apart from `Synchronization.Mutex`, which needs newer platforms on macOS).
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    /// A lock around `value`.
    public init(_ value: Value) { self.value = value }
    /// Runs `body` with the value, under the lock.
    public func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
