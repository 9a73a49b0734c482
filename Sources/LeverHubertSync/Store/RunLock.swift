import Foundation

/// Holds an exclusive advisory lock on a file for the life of the process; the kernel drops it when the
/// process dies, so `kill -9` leaves no stale lock.
public final class RunLock: Sendable {
    private let fd: Int32

    /// Takes the lock beside the database, or throws `PassAbort.locked` at once when another run holds it.
    /// The lock belongs to the database file, not to the path it was reached by: `<real path>.lock`, the real path
    /// with every symlink resolved and made absolute, so a database reached through a symlink, a relative path from
    /// another directory or a bind-mounted directory has one lock, whichever command (`run`, `run --dry-run`,
    /// `backfill`, `check`, `demo`) takes it.
    public init(databasePath: String) throws {
        let lockPath = Self.lockPath(databasePath)
        try? FileManager.default.createDirectory(
            at: URL(fileURLWithPath: lockPath).deletingLastPathComponent(),
            withIntermediateDirectories: true)
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PassAbort.configuration("cannot create the lock file \(lockPath) beside the database")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw PassAbort.locked("another lever-hubert-sync run holds the lock on \(databasePath); try again later")
        }
        self.fd = fd
    }

    private init(fd: Int32) { self.fd = fd }

    /// For a reader that must create no file (a dry run): takes the lock when the lock file exists, so that a dry
    /// run still never overlaps a writing run; returns nil when there is no lock file (no run has ever held it, and
    /// a reader needs none). Throws `PassAbort.locked` when another run holds it.
    public static func ifPresent(databasePath: String) throws -> RunLock? {
        let fd = open(lockPath(databasePath), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw PassAbort.locked("another lever-hubert-sync run holds the lock on \(databasePath); try again later")
        }
        return RunLock(fd: fd)
    }

    /// The lock file of a database: beside the file the path finally names (symlinks resolved, absolute). A
    /// database that does not exist yet is named by its directory's real path (or, when that does not exist
    /// either, by the absolute path as written).
    public static func lockPath(_ databasePath: String) -> String {
        canonical(databasePath) + ".lock"
    }

    static func canonical(_ path: String) -> String {
        func real(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
        if let file = real(path) { return file }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if let directory = real(url.deletingLastPathComponent().path) {
            return directory + "/" + url.lastPathComponent
        }
        return url.path
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
