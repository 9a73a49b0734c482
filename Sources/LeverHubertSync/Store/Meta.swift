import Foundation
import GRDB

/// Keys of the `meta` table the pass keeps its own schedule in.
enum MetaKey: String {
    /// When the last full postings read started (ms).
    case postingsFullReadAt = "postings.full_read_ms"
    /// When the last postings read, full or changed-since, started (ms).
    case postingsReadAt = "postings.read_ms"
    /// When the last read of Lever's deleted opportunities started (ms).
    case deletedReadAt = "opportunities.deleted_read_ms"
}

/// The `meta` table: when things were last read, the lifetime counters, and who made the database.
extension Store {
    func meta(_ key: MetaKey) async throws -> Millis? {
        try await writer.read { db in try MetaRecord.fetchOne(db, key: key.rawValue).flatMap { Millis($0.value) } }
    }

    func setMeta(_ values: [MetaKey: Millis]) async throws {
        try await writer.write { db in
            for (key, value) in values { try MetaRecord(key: key.rawValue, value: String(value)).save(db) }
        }
    }

    /// Marks this database as made by `demo`.
    public func markDemoDatabase() async throws {
        try await writer.write { db in
            try MetaRecord(key: MetaRecord.Key.madeBy, value: "demo").insert(db, onConflict: .replace)
        }
    }

    /// Adds to the cumulative counters (kept as `counter.<name>` rows of `meta`), in one transaction.
    public func addToCounters(_ deltas: [String: Int]) async throws {
        try await writer.write { db in try Self.addToCounters(deltas, db) }
    }

    /// Adds to the cumulative counters inside a write transaction (one atomic upsert per counter).
    static func addToCounters(_ deltas: [String: Int], _ db: Database) throws {
        for (name, delta) in deltas where delta != 0 {
            try db.execute(
                sql: """
                    INSERT INTO meta (key, value) VALUES (?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)
                    """, arguments: [MetaRecord.Key.counterPrefix + name, String(delta)])
        }
    }

    /// The cumulative counters, by name.
    public func counters() async throws -> [String: Int] {
        try await writer.read { db in
            var result: [String: Int] = [:]
            let prefix = MetaRecord.Key.counterPrefix
            for meta in try MetaRecord.filter(MetaRecord.Columns.key.like(prefix + "%")).fetchAll(db) {
                result[String(meta.key.dropFirst(prefix.count))] = Int(meta.value) ?? 0
            }
            return result
        }
    }

    /// Whether `demo` made this database.
    public func isDemoDatabase() async throws -> Bool {
        try await writer.read { db in try MetaRecord.fetchOne(db, key: MetaRecord.Key.madeBy)?.value == "demo" }
    }
}
