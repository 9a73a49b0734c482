import Foundation

/// A one-way switch that stops a pass's HTTP: once tripped, transfers in flight are aborted by libcurl's progress
/// callback (within about a second) and no new request starts. SIGTERM and SIGINT trip it. Requests aborted that way
/// are classified like any lost answer (*not sent* or *maybe sent*), so the ledger settles them on the next pass.
public final class AbortSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var tripped = false

    public init() {}

    /// Stops every transfer that watches this signal.
    public func trip() { lock.withLock { tripped = true } }

    /// Whether `trip()` was called.
    public var isTripped: Bool { lock.withLock { tripped } }
}
