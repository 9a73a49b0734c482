import Foundation
import Logging

/// The request rate a pass learned is kept for the next one (`Store.keepLearnedRates`), so cron every minute does
/// not find the key's limit again with a burst of 429s: the next pass starts from it and regrows toward the
/// configured rate.
extension SyncEngine {
    private var buckets: [(Service, TokenBucket)] { [(.lever, lever.http.bucket), (.hubert, hubert.http.bucket)] }

    /// Starts each service's rate from what the last pass learned (never above the configured rate).
    func startFromLearnedRates(logger: Logger) async {
        guard let learned = try? await store.learnedRates() else { return }
        for (service, bucket) in buckets {
            // Learned under another ceiling (the configuration changed): start from the configuration.
            guard let rate = learned[service], let current = await bucket.state,
                abs(rate.configuredPerSecond - current.ceiling) < 1e-9
            else { continue }
            await bucket.start(from: rate.learnedPerSecond)
            if let state = await bucket.state, state.rate < state.ceiling {
                logger.info(
                    "starting from the request rate the last pass learned",
                    metadata: [
                        "service": "\(service.rawValue)", "rate": "\(Self.perSecond(state.rate))",
                        "configured": "\(Self.perSecond(state.ceiling))",
                    ])
            }
        }
    }

    /// The rates to keep at the end of the pass (services it sent requests to), and, once per pass and service
    /// that was throttled, a log line saying the rate was lowered and to what.
    func learnedRates(now: Millis, logger: Logger) async -> [LearnedRate] {
        var rates: [LearnedRate] = []
        for (service, bucket) in buckets {
            guard await requests.requests(service) > 0, let state = await bucket.state,
                let learned = await bucket.learned
            else { continue }
            if state.cuts > 0 {
                logger.notice(
                    "request rate lowered: \(service.rawValue) answered 429 \(state.throttled) times in this pass",
                    metadata: [
                        "service": "\(service.rawValue)", "rate": "\(Self.perSecond(learned))",
                        "lowest": "\(Self.perSecond(state.lowest))", "configured": "\(Self.perSecond(state.ceiling))",
                        "throttled": "\(state.throttled)", "cuts": "\(state.cuts)",
                    ])
            }
            rates.append(
                // Never below a third of the ceiling: a pass that met an outage (nothing served) learned about the
                // outage, not about a neighbour's share, and the next one should not crawl.
                LearnedRate(
                    service: service, learnedPerSecond: max(learned, state.ceiling * 0.3),
                    configuredPerSecond: state.ceiling,
                    throttledLastPass: state.throttled, lowestPerSecond: state.lowest, learnedAt: now))
        }
        return rates
    }

    static func perSecond(_ rate: Double) -> String { String(format: "%.2f/s", rate) }
}
