import Foundation

/// The sending rate of one service, learned from its answers: pure logic over an injected clock (seconds).
///
/// A key's budget is shared with other integrations, so the configured `requestsPerSecond` is a ceiling, not a
/// promise. The rate starts at the ceiling (or at what an earlier pass learned) and
/// - is cut multiplicatively (× `decrease`) on a throttling answer (429, or 503 with Retry-After) — once per
///   congestion event: a throttled request sent before the last cut reports the congestion that cut already answered,
///   so eight requests in flight that all come back 429 lower the rate once, not eight times (TCP's one reduction per
///   round trip);
/// - regrows while requests are served, on a cubic curve (CUBIC, the AWS SDKs' adaptive retry mode): quickly at
///   first, then flat just below the rate that was throttled (a neighbour's share rarely moves much), then faster
///   again to probe for capacity that has come free;
/// - never goes above the ceiling, nor below `minimum` (a probe now and then still finds out when the key is free).
public struct AdaptiveRate: Sendable, Equatable {
    /// The configured `requestsPerSecond`.
    public let ceiling: Double
    /// The rate now, in requests per second.
    public private(set) var rate: Double
    /// The lowest the rate may go.
    public let minimum: Double
    /// The plateau the cubic regrowth flattens at: a little below the rate that was last throttled.
    private(set) var plateau: Double
    /// When the rate was last cut (the regrowth curve's origin).
    private(set) var lastCut: Double
    /// Cuts so far; a request is tagged with it when sent (`generation`).
    public private(set) var cuts = 0
    /// Throttling answers so far (each one, whether or not it cut the rate).
    public private(set) var throttled = 0
    /// The lowest rate reached.
    public private(set) var lowest: Double
    /// Since when nothing has been served: set by the first throttling answer after a served one, cleared by the
    /// next served one.
    public private(set) var unservedSince: Double?

    /// The multiplicative decrease (AWS SDKs and CUBIC use 0.7).
    public static let decrease = 0.7
    /// Where the regrowth flattens, as a share of the rate that was throttled.
    public static let plateauShare = 0.9
    /// The cubic's steepness, per unit of the ceiling: the plateau is reached about 6–8 s after a cut whatever the
    /// ceiling, and a rate regrows from a third of the ceiling to all of it in about 15 s.
    public static let steepness = 0.0005

    /// - Parameters: ceiling: the configured rate (> 0); start: a rate learned earlier (clamped to the ceiling and
    ///   the minimum); now: the clock's reading.
    public init(ceiling: Double, start: Double? = nil, now: Double) {
        self.ceiling = ceiling
        minimum = min(ceiling, max(ceiling / 50, 0.1))
        let rate = min(ceiling, max(minimum, start ?? ceiling))
        self.rate = rate
        lowest = rate
        plateau = rate
        lastCut = now
        // Start on the plateau: a learned rate is held for a while before probing above it.
        lastCut = now - flatAfter
    }

    /// The number the service's requests carry to tell the congestion events apart.
    public var generation: Int { cuts }

    /// How long a rate regrown above the plateau must go without a throttle to count as learned.
    public static let provenAfter = 60.0

    /// The rate worth remembering for the next pass, at `now`: shortly after a cut, the plateau (a probe above it is
    /// not yet proven, and the last one found the limit); otherwise the rate.
    public func learned(now: Double) -> Double {
        guard cuts > 0, now - lastCut < Self.provenAfter else { return rate }
        return min(rate, plateau)
    }

    private var steepness: Double { Self.steepness * ceiling }
    /// Seconds from a cut to the plateau.
    private var flatAfter: Double { cbrt(plateau * (1 - Self.decrease) / steepness) }

    /// A request sent at `generation` was throttled at `now`. Returns true when this cut the rate.
    @discardableResult
    public mutating func throttle(generation: Int, now: Double) -> Bool {
        throttled += 1
        if unservedSince == nil { unservedSince = now }
        // At the floor a throttle changes nothing: no new congestion event (waiters keep their places).
        guard generation >= cuts, rate > minimum else { return false }
        plateau = rate * Self.plateauShare
        rate = max(minimum, rate * Self.decrease)
        plateau = max(plateau, rate)
        lowest = min(lowest, rate)
        lastCut = now
        cuts += 1
        return true
    }

    /// A request was served (any answer but a throttling one) at `now`: the rate regrows along the curve.
    public mutating func served(now: Double) {
        unservedSince = nil
        let t = now - lastCut - flatAfter
        let curve = plateau + steepness * t * t * t
        rate = min(ceiling, max(rate, curve))
    }

    /// How long nothing has been served, at `now` (0 while requests are served).
    public func unserved(now: Double) -> Double { unservedSince.map { max(0, now - $0) } ?? 0 }

    /// How many requests may go at once, for a configured burst: the burst shrinks with the rate (at least one), so
    /// a lowered rate does not come back as a burst after a pause.
    public func burst(configured: Int) -> Double {
        max(1, Double(max(1, configured)) * rate / ceiling)
    }
}
