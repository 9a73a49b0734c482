import Foundation

/// A client-side token bucket shared by every request to one service. Callers that find it empty reserve a
/// future token and sleep until then, so waiting requests are served in order and the rate is never exceeded.
public actor TokenBucket {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private var holdUntil: ContinuousClock.Instant?

    /// - Parameters: rate: tokens per second (0 or less means unlimited); burst: bucket size.
    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        self.tokens = Double(max(1, burst))
        self.last = .now
    }

    /// Takes one token, returning how long the caller must wait before using it.
    func reserve() -> Duration {
        guard rate > 0 else { return .zero }
        let now = ContinuousClock.now
        let elapsed = now - last
        last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * rate)
        tokens -= 1
        var wait: Duration = tokens >= 0 ? .zero : .milliseconds(Int((-tokens / rate) * 1000))
        if let holdUntil, holdUntil > now { wait = max(wait, holdUntil - now) }
        return wait
    }

    /// After a 429 with Retry-After, no request to this service starts before the given instant.
    func hold(until instant: ContinuousClock.Instant) {
        if let current = holdUntil, current > instant { return }
        holdUntil = instant
    }

    /// Waits for a token.
    public func acquire() async {
        let wait = reserve()
        if wait > .zero { try? await Task.sleep(for: wait) }
    }
}
