import Foundation
import GRDB

/// The SQLite store: one type owns the connection, runs migrations at open and exposes one method per intention,
/// each one transaction. WAL, a busy timeout, and a file only its owner can read (0600).
public final class Store: Sendable {
    let writer: any DatabaseWriter
    /// Where the database lives; nil for an in-memory store.
    public let path: String?

    /// Opens (creating if needed, mode 0600) the database at `path` and migrates it.
    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            if fd >= 0 { Foundation.close(fd) }
        }
        chmod(path, 0o600)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        let pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            chmod(path + suffix, 0o600)
        }
        self.writer = pool
        self.path = path
    }

    /// Opens an existing database for reading only, creating and changing no file (dry runs). When the database
    /// needs a migration, its content is copied into memory and migrated there; the file is never migrated.
    ///
    /// SQLite creates `-wal` and `-shm` files even for a read-only connection to a WAL database, so the file is
    /// opened `immutable` (no locking, no shared memory, nothing written) when it is fully checkpointed — which it
    /// is whenever no run is writing: the caller holds the run lock, or no lock file exists. After a crash a WAL
    /// with content may be left; then the files are already there and are read as they are (`mode=ro`).
    public init(readOnlyPath path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int ?? 0
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let encoded =
            absolute.addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%")))
            ?? absolute
        let uri = "file:\(encoded)?" + (wal > 0 ? "mode=ro" : "immutable=1")
        let file = try DatabaseQueue(path: uri, configuration: configuration)
        if try file.read({ try Schema.migrator.hasCompletedMigrations($0) }) {
            self.writer = file
        } else {
            let memory = try DatabaseQueue()
            try file.backup(to: memory)
            try Schema.migrator.migrate(memory)
            self.writer = memory
        }
        self.path = path
    }

    /// An empty in-memory store (dry runs on a database that does not exist yet, tests).
    public init() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        self.writer = queue
        self.path = nil
    }

    /// Closes the connection now (the WAL is checkpointed and removed by the last connection), rather than whenever
    /// the store happens to be released: a process that exits leaves the database in one file.
    public func close() throws {
        // The pool's read-only readers may be closed last, and a read-only connection leaves the WAL in place: fold
        // it back first, so that what remains beside the database is empty.
        if writer is DatabasePool { _ = try writer.writeWithoutTransaction { try $0.checkpoint(.truncate) } }
        try writer.close()
    }

    // MARK: Checkpoints

    /// The checkpoint of a stream, in ms; nil before the first pass.
    public func checkpoint(_ stream: String) async throws -> Millis? {
        try await writer.read { db in try CheckpointRecord.fetchOne(db, key: stream)?.at }
    }

    /// Sets the live checkpoints to the start of the pass that just processed their whole window. This may move one
    /// back: a checkpoint that lay in the future (the clock had run ahead) is brought back to the present, so the
    /// next window starts where this one ended.
    public func setCheckpoints(_ values: [String: Millis], now: Millis) async throws {
        try await writer.write { db in
            for (stream, at) in values {
                // INSERT … ON CONFLICT (stream) DO UPDATE SET at_ms = excluded.at_ms, updated_ms = excluded.updated_ms
                try CheckpointRecord(stream: stream, at: max(0, at), updatedAt: now).upsert(db)
            }
        }
    }

    /// When the latest live run that finished cleanly started, among those that started at or before `notAfter`:
    /// after a clock step, the last moment this database was in step with the present.
    public func lastCleanRunStart(notAfter: Millis) async throws -> Millis? {
        try await writer.read { db in
            try RunRecord
                .filter(RunRecord.Columns.kind == "run" && RunRecord.Columns.exitCode == 0)
                .filter(RunRecord.Columns.startedAt <= notAfter)
                .select(max(RunRecord.Columns.startedAt), as: Millis.self)
                .fetchOne(db)
        }
    }

    // MARK: Postings

    /// Records tagged postings (with their titles); a pair seen before keeps its first-seen time.
    public func recordPostingTags(
        _ tags: [(postingId: String, templateId: String, firstSeen: Millis)],
        names: [String: String] = [:], now: Millis
    ) async throws {
        try await writer.write { db in
            for tag in tags {
                let record = PostingTagRecord(
                    postingId: tag.postingId, templateId: tag.templateId, firstSeen: tag.firstSeen, lastSeen: now,
                    postingName: names[tag.postingId])
                try db.execute(
                    sql: """
                        INSERT INTO posting_tag (posting_id, template_id, first_seen_ms, last_seen_ms, posting_name)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (posting_id, template_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms,
                            posting_name = coalesce(excluded.posting_name, posting_name)
                        """,
                    arguments: [
                        record.postingId, record.templateId, record.firstSeen, record.lastSeen, record.postingName,
                    ])
            }
        }
    }

    // MARK: Templates

    /// What Hubert last said of a template, if asked after `freshAfter`.
    public func cachedTemplate(_ id: String, freshAfter: Millis) async throws -> (status: String, threshold: Double?)? {
        try await writer.read { db in
            try TemplateCacheRecord
                .filter(TemplateCacheRecord.Columns.templateId == id)
                .filter(TemplateCacheRecord.Columns.checkedAt >= freshAfter)
                .fetchOne(db)
                .map { ($0.status, $0.threshold) }
        }
    }

    /// Remembers what Hubert said of a template.
    public func cacheTemplate(_ id: String, status: String, threshold: Double?, now: Millis) async throws {
        try await writer.write { db in
            try TemplateCacheRecord(templateId: id, status: status, threshold: threshold, checkedAt: now)
                .insert(db, onConflict: .replace)
        }
    }

    // MARK: Lookups

    /// A cached lookup fetched after `freshAfter`, if any.
    public func cachedLookup(_ key: String, freshAfter: Millis) async throws -> String? {
        try await writer.read { db in
            try LookupCacheRecord
                .filter(LookupCacheRecord.Columns.key == key)
                .filter(LookupCacheRecord.Columns.fetchedAt >= freshAfter)
                .fetchOne(db)?.value
        }
    }

    /// Caches a lookup.
    public func cacheLookup(_ key: String, value: String, now: Millis) async throws {
        try await writer.write { db in
            try LookupCacheRecord(key: key, value: value, fetchedAt: now).insert(db, onConflict: .replace)
        }
    }

    /// Runs a read-only query (for `status` and tests).
    public func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await writer.read(body)
    }
}
