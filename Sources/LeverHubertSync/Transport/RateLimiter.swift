import Foundation

/// A client-side token bucket shared by every request to one service, at the adaptive rate of `AdaptiveRate`.
/// Callers that find it empty reserve a future token and sleep until then, so waiting requests are served in order
/// and the rate is never exceeded. A request that was waiting when the rate was cut takes a new place at the new rate
/// (its reservation was priced at the old one).
public actor TokenBucket {
    /// The configured burst.
    private let burst: Int
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private var holdUntil: ContinuousClock.Instant?
    /// Nil when the bucket is unlimited (a rate of 0 or less).
    private var adaptive: AdaptiveRate?
    /// The clock's origin: `AdaptiveRate` reads seconds since it.
    private let origin: ContinuousClock.Instant

    /// What a request carries from the bucket to its answer: which congestion event it was sent in.
    public struct Ticket: Sendable {
        let generation: Int
    }

    /// - Parameters: rate: tokens per second, the ceiling (0 or less means unlimited); burst: bucket size.
    public init(rate: Double, burst: Int) {
        self.burst = max(1, burst)
        self.tokens = Double(max(1, burst))
        let now = ContinuousClock.now
        self.last = now
        self.origin = now
        self.adaptive = rate > 0 ? AdaptiveRate(ceiling: rate, now: 0) : nil
    }

    private func seconds(_ instant: ContinuousClock.Instant) -> Double {
        let d = instant - origin
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Starts from a rate an earlier pass learned (regrowing toward the configured rate from there).
    public func start(from learned: Double) {
        guard let ceiling = adaptive?.ceiling else { return }
        adaptive = AdaptiveRate(ceiling: ceiling, start: learned, now: seconds(.now))
        tokens = min(tokens, adaptive?.burst(configured: burst) ?? tokens)
    }

    /// The adaptive rate as it stands (nil when unlimited).
    public var state: AdaptiveRate? { adaptive }

    /// The rate worth remembering for the next pass (`AdaptiveRate.learned(now:)`; nil when unlimited).
    public var learned: Double? { adaptive?.learned(now: seconds(.now)) }

    /// Takes one token, returning how long the caller must wait before using it and the congestion event it was
    /// priced in.
    func reserve() -> (wait: Duration, generation: Int) {
        guard let adaptive else { return (.zero, 0) }
        let rate = adaptive.rate
        let now = ContinuousClock.now
        let elapsed = now - last
        last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(adaptive.burst(configured: burst), tokens + seconds * rate)
        tokens -= 1
        var wait: Duration = tokens >= 0 ? .zero : .milliseconds(Int((-tokens / rate) * 1000))
        if let holdUntil, holdUntil > now { wait = max(wait, holdUntil - now) }
        return (wait, adaptive.generation)
    }

    /// Gives back a reserved token that was not used (its request takes a new place after a cut).
    private func refund(generation: Int) -> Bool {
        guard let adaptive, adaptive.generation != generation else { return false }
        tokens += 1
        return true
    }

    /// After a 429 or 503 with Retry-After, no request to this service starts before the given instant.
    func hold(until instant: ContinuousClock.Instant) {
        if let current = holdUntil, current > instant { return }
        holdUntil = instant
        // Requests after the hold are spaced at the rate again, not released together when it ends.
        tokens = min(tokens, 0)
        last = max(last, instant)
    }

    /// Waits for a token; the ticket goes with the request to `throttled` or `served`.
    public func acquire() async -> Ticket {
        while true {
            let (wait, generation) = reserve()
            guard wait > .zero else { return Ticket(generation: generation) }
            try? await Task.sleep(for: wait)
            // Cut while waiting: the place was priced at the old rate; take a new one at the new rate.
            if refund(generation: generation) && !Task.isCancelled { continue }
            return Ticket(generation: generation)
        }
    }

    /// The request of `ticket` was throttled (429, or 503 with Retry-After). Returns whether this lowered the rate,
    /// and for how long nothing has been served.
    func throttled(_ ticket: Ticket) -> (lowered: Bool, unserved: Duration) {
        guard var adaptive else { return (false, .zero) }
        let now = seconds(.now)
        let lowered = adaptive.throttle(generation: ticket.generation, now: now)
        if lowered { tokens = min(tokens, adaptive.burst(configured: burst)) }
        self.adaptive = adaptive
        return (lowered, .milliseconds(Int64(adaptive.unserved(now: now) * 1000)))
    }

    /// A request was served (any answer but a throttling one): the rate regrows.
    func served() {
        adaptive?.served(now: seconds(.now))
    }
}
