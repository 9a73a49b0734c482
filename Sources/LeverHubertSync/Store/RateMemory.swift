import Foundation
import GRDB

/// What a pass learned of one service's request rate, kept in `meta` (`rate.<service>.*`) for the next pass to start
/// from and for `status` and the metrics to show. No table of its own: a few rows of the key/value table.
public struct LearnedRate: Sendable, Equatable, Codable {
    public var service: Service
    /// The rate the pass ended with (requests per second); the next pass starts from it.
    public var learnedPerSecond: Double
    /// The configured ceiling (`requestsPerSecond`) when it was learned.
    public var configuredPerSecond: Double
    /// Throttling answers (429, 503 with Retry-After) in the pass that learned it.
    public var throttledLastPass: Int
    /// The lowest rate of that pass.
    public var lowestPerSecond: Double
    /// When it was learned (ms).
    public var learnedAt: Millis
}

extension Store {
    private static func rateKey(_ service: Service, _ field: String) -> String { "rate.\(service.rawValue).\(field)" }
    /// The cumulative counter (`counter.<name>`) of a service's throttling answers.
    static func throttledCounter(_ service: Service) -> String { "throttled.\(service.rawValue)" }

    /// Keeps what the pass learned, with the cumulative count of throttling answers, in one transaction.
    public func keepLearnedRates(_ rates: [LearnedRate]) async throws {
        guard !rates.isEmpty else { return }
        try await writer.write { db in
            for rate in rates {
                let values: [(String, String)] = [
                    ("learned", String(format: "%.4f", rate.learnedPerSecond)),
                    ("configured", String(format: "%.4f", rate.configuredPerSecond)),
                    ("throttled", String(rate.throttledLastPass)),
                    ("lowest", String(format: "%.4f", rate.lowestPerSecond)),
                    ("at_ms", String(rate.learnedAt)),
                ]
                for (field, value) in values {
                    try MetaRecord(key: Self.rateKey(rate.service, field), value: value).save(db)
                }
                try Self.addToCounters([Self.throttledCounter(rate.service): rate.throttledLastPass], db)
            }
        }
    }

    /// What earlier passes learned, by service (only services a pass has talked to).
    public func learnedRates() async throws -> [Service: LearnedRate] {
        try await writer.read { db in try Self.learnedRates(db) }
    }

    /// The request rates as `status` shows them: what was learned, with the 429s of the last run and in total.
    static func requestRates(_ db: Database) throws -> [StatusReport.RequestRate] {
        let counter = MetaRecord.Key.counterPrefix
        return try learnedRates(db).values.sorted { $0.service.rawValue < $1.service.rawValue }.map { rate in
            let total = try MetaRecord.fetchOne(db, key: counter + throttledCounter(rate.service))
            return StatusReport.RequestRate(
                service: rate.service.rawValue, configuredPerSecond: rate.configuredPerSecond,
                learnedPerSecond: rate.learnedPerSecond, lowestLastRunPerSecond: rate.lowestPerSecond,
                throttledLastRun: rate.throttledLastPass, throttledTotal: total.flatMap { Int($0.value) } ?? 0,
                learnedAt: RFC3339.format(rate.learnedAt))
        }
    }

    static func learnedRates(_ db: Database) throws -> [Service: LearnedRate] {
        var values: [String: String] = [:]
        for meta in try MetaRecord.filter(MetaRecord.Columns.key.like("rate.%")).fetchAll(db) {
            values[meta.key] = meta.value
        }
        var result: [Service: LearnedRate] = [:]
        for service in Service.allCases {
            func value(_ field: String) -> String? { values[Self.rateKey(service, field)] }
            guard let learned = value("learned").flatMap(Double.init), learned.isFinite, learned > 0 else {
                continue
            }
            result[service] = LearnedRate(
                service: service, learnedPerSecond: learned,
                configuredPerSecond: value("configured").flatMap(Double.init) ?? learned,
                throttledLastPass: value("throttled").flatMap(Int.init) ?? 0,
                lowestPerSecond: value("lowest").flatMap(Double.init) ?? learned,
                learnedAt: value("at_ms").flatMap(Millis.init) ?? 0)
        }
        return result
    }
}
