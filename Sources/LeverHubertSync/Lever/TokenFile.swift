import Foundation

/// What the token file holds: the Lever grant. The refresh token (rotated on every refresh), the access token with its
/// expiry (reused by every pass until it is about to expire), the scopes Lever granted and when the refresh token was
/// issued (Lever lets it die after 90 days unused). Its description never shows a token.
public struct LeverGrant: Codable, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The format of the file (1).
    public var version = 1
    /// The newest refresh token: the only one Lever still accepts.
    public var refreshToken: String
    /// The access token of the last refresh, nil when none is known (a legacy file, a configured token).
    public var accessToken: String?
    /// When the access token expires (ms since the epoch).
    public var accessTokenExpiresAt: Millis?
    /// How long the access token lived when issued (ms): the reuse margin is `min(60 s, lifetime / 2)`.
    public var accessTokenLifetimeMs: Millis?
    /// The scopes Lever granted (space-separated, as the token endpoint said); nil when not known.
    public var scope: String?
    /// When this refresh token was issued (the last refresh or authorization); Lever expires it after 90 days unused.
    public var refreshTokenIssuedAt: Millis?
    /// When `authorize` obtained the grant.
    public var authorizedAt: Millis?
    /// When Lever refused this grant's refresh token (revoked or expired): later passes do not ask again.
    public var refusedAt: Millis?
    /// What Lever's refusal said (the error code and what a person does), never a token.
    public var refusal: String?

    public init(
        refreshToken: String, accessToken: String? = nil, accessTokenExpiresAt: Millis? = nil,
        accessTokenLifetimeMs: Millis? = nil, scope: String? = nil, refreshTokenIssuedAt: Millis? = nil,
        authorizedAt: Millis? = nil
    ) {
        self.refreshToken = refreshToken
        self.accessToken = accessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.accessTokenLifetimeMs = accessTokenLifetimeMs
        self.scope = scope
        self.refreshTokenIssuedAt = refreshTokenIssuedAt
        self.authorizedAt = authorizedAt
    }

    /// The grant a token endpoint answer gives (authorization code or refresh), `now` being when it was received.
    /// Lever rotates the refresh token on every refresh; an answer without one keeps `previousRefreshToken`.
    public init?(_ token: LeverOAuthToken, previousRefreshToken: String?, previous: LeverGrant?, now: Millis) {
        guard let refresh = token.refreshToken ?? previousRefreshToken, !token.accessToken.isEmpty else { return nil }
        // A lifetime from the server is clamped (a day at most) so that no arithmetic on it can overflow.
        let lifetime = Millis(min(max(token.expiresIn ?? 3600, 0), 86_400)) * 1000
        self.init(
            refreshToken: refresh, accessToken: token.accessToken, accessTokenExpiresAt: now + lifetime,
            accessTokenLifetimeMs: lifetime, scope: token.scope ?? previous?.scope,
            refreshTokenIssuedAt: token.refreshToken == nil ? previous?.refreshTokenIssuedAt ?? now : now,
            authorizedAt: previous?.authorizedAt)
    }

    /// The access token, when it is still good for longer than the margin `min(60 s, lifetime / 2)` at `now`.
    public func usableAccessToken(at now: Millis) -> String? {
        guard let accessToken, let expiresAt = accessTokenExpiresAt else { return nil }
        let lifetime = accessTokenLifetimeMs ?? 3_600_000
        return expiresAt - now > Self.margin(lifetime: lifetime) ? accessToken : nil
    }

    /// How long before its expiry an access token is replaced: a minute, or half its life when it lives less than two.
    public static func margin(lifetime: Millis) -> Millis { min(60_000, max(0, lifetime) / 2) }

    /// The granted scopes, as a set.
    public var scopes: Set<String>? { scope.map { Set($0.split(separator: " ").map(String.init)) } }

    public var description: String {
        "LeverGrant(refreshToken: <redacted>, accessToken: \(accessToken == nil ? "none" : "<redacted>"), "
            + "scope: \(scope ?? "unknown"))"
    }
    public var debugDescription: String { description }
}

/// The token file: one JSON object (`LeverGrant`), mode 0600, replaced atomically and durably; a sidecar lock file
/// (`<tokenFile>.lock`) serialises every refresh across processes. A file holding nothing but a refresh token (the
/// format of earlier releases) is read too.
public enum TokenFile {
    /// The sidecar lock file of a token file.
    public static func lockPath(_ tokenFile: String) -> String { tokenFile + ".lock" }

    /// Reads the grant; nil when there is no file. An unreadable or empty file is an error naming the file.
    public static func read(_ path: String) throws -> LeverGrant? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw PassAbort.grant("cannot read the OAuth token file \(path) (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw PassAbort.grant("cannot read the OAuth token file \(path)") }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        if let grant = try? JSONDecoder().decode(LeverGrant.self, from: data), !grant.refreshToken.isEmpty {
            return grant
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.hasPrefix("{"), !text.contains(where: \.isWhitespace) else {
            throw PassAbort.grant(
                "the OAuth token file \(path) is empty or unreadable; run `lever-hubert-sync authorize`")
        }
        return LeverGrant(refreshToken: text)
    }

    /// The bytes written for a grant.
    static func encode(_ grant: LeverGrant) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(grant)) ?? Data()) + [0x0A]
    }

    /// Refreshes in progress in this process, from presenting a refresh token until its successor is durable: the
    /// last-resort exit after a signal waits for them (bounded), so that a rotation is never cut off mid-commit.
    public static let inFlight = InFlight()

    /// A count of work that must not be cut off by `_exit`, with a bounded wait for it to reach zero.
    public final class InFlight: @unchecked Sendable {
        private let condition = NSCondition()
        private var count = 0

        public func begin() { condition.withLock { count += 1 } }

        public func end() {
            condition.withLock {
                count -= 1
                condition.broadcast()
            }
        }

        /// Blocks the calling thread until nothing is in flight or `seconds` passed; true when idle.
        @discardableResult public func waitUntilIdle(seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            condition.lock()
            defer { condition.unlock() }
            while count > 0 {
                if !condition.wait(until: deadline) { return count == 0 }
            }
            return true
        }
    }

    /// The room reserved for a grant before Lever is asked (a grant is a few KiB: tokens, scopes, dates).
    public static let reservedBytes = 64 * 1024

    /// A temporary file beside the token file, created before anything is asked of Lever, with room for the new
    /// grant reserved (`posix_fallocate`): when it cannot be created or the room cannot be had (a read-only
    /// directory, a full disk) no refresh happens and the grant stays intact; once it exists, a full disk after Lever
    /// rotated cannot keep the successor from being written.
    public final class Pending: @unchecked Sendable {
        let path: String
        let temporary: String
        private var fd: Int32
        private var done = false

        /// Creates the temporary file (`AtomicFile.createTemporary`: `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600; neither
        /// a planted symlink nor an existing file is ever written through). The name carries the pid and 64 random
        /// bits unless `temporaryName` says otherwise.
        public init(for path: String, temporaryName: () -> String = AtomicFile.uniqueSuffix) throws {
            self.path = path
            try? FileManager.default.createDirectory(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard case (let fd, let tmp)? = AtomicFile.createTemporary(beside: path, temporaryName: temporaryName)
            else {
                throw PassAbort.grant(
                    "cannot write the OAuth token file \(path) (\(String(cString: strerror(errno))) in its directory)")
            }
            // posix_fallocate returns the error itself; where a file system cannot reserve, zeros are written.
            var reserved = posix_fallocate(fd, 0, off_t(TokenFile.reservedBytes))
            if reserved != 0, reserved != ENOSPC, reserved != EDQUOT, reserved != EFBIG {
                reserved =
                    AtomicFile.writeAll([UInt8](repeating: 0, count: TokenFile.reservedBytes), to: fd)
                        && fsync(fd) == 0 ? 0 : errno
            }
            guard reserved == 0 else {
                close(fd)
                unlink(tmp)
                throw PassAbort.grant(
                    "cannot write the OAuth token file \(path): no room for it (\(String(cString: strerror(reserved)))); "
                        + "nothing was refreshed")
            }
            self.fd = fd
            self.temporary = tmp
        }

        /// Writes the grant into the temporary file, fsyncs it, renames it over the token file and fsyncs the
        /// directory, so the new grant survives a crash or a power loss the moment this returns.
        public func commit(_ grant: LeverGrant) throws {
            // errno when it failed, not before.
            var failure: PassAbort {
                PassAbort.grant("cannot write the OAuth token file \(path) (\(String(cString: strerror(errno))))")
            }
            defer { discard() }
            let bytes = TokenFile.encode(grant)
            // Over the reserved room from its start, then cut to length (shrinking needs no room).
            guard fchmod(fd, 0o600) == 0, lseek(fd, 0, SEEK_SET) == 0, AtomicFile.writeAll(bytes, to: fd),
                ftruncate(fd, off_t(bytes.count)) == 0, fsync(fd) == 0
            else {
                throw failure
            }
            let closed = close(fd)
            fd = -1
            guard closed == 0, rename(temporary, path) == 0 else { throw failure }
            done = true
            AtomicFile.syncDirectory(of: path)
        }

        /// Removes the temporary file unless it became the token file.
        public func discard() {
            if fd >= 0 {
                close(fd)
                fd = -1
            }
            if !done {
                unlink(temporary)
                done = true
            }
        }

        deinit { discard() }
    }

    /// An exclusive `flock` on the token file's sidecar lock, held until `release()` (or the process ends).
    public final class Lock: @unchecked Sendable {
        private var fd: Int32

        init(fd: Int32) { self.fd = fd }

        /// Records in the lock file that a token file was written here: from then on a missing token file is an
        /// error, never a reason to spend the configured refresh token.
        public func markGranted(now: Millis) {
            guard fd >= 0, lseek(fd, 0, SEEK_END) == 0 else { return }
            let text = "a Lever grant was stored in the token file beside this lock on \(RFC3339.format(now))\n"
            _ = AtomicFile.writeAll(Array(text.utf8), to: fd)
            fsync(fd)
        }

        public func release() {
            if fd >= 0 {
                flock(fd, LOCK_UN)
                close(fd)
                fd = -1
            }
        }

        deinit { release() }
    }

    /// Takes the lock, waiting (without blocking a thread) while another process refreshes; gives up after
    /// `timeoutMs` (75: another process holds it) or when `stop` says so.
    public static func lock(
        _ tokenFile: String, timeoutMs: Int = 30_000, stop: @Sendable () -> Bool = { false }
    ) async throws -> Lock {
        let path = lockPath(tokenFile)
        try? FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PassAbort.grant(
                "cannot write the OAuth token file \(tokenFile): its lock \(path) cannot be created "
                    + "(\(String(cString: strerror(errno)))); nothing was refreshed")
        }
        let started = Date()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if stop() || Date().timeIntervalSince(started) * 1000 > Double(timeoutMs) {
                close(fd)
                throw PassAbort.locked("another process is refreshing the Lever OAuth token (lock \(path))")
            }
            // Not Task.sleep: a cancelled pass must still wait for the refresh it began.
            await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.02) { continuation.resume() }
            }
        }
        return Lock(fd: fd)
    }

    /// Whether a token file was ever written beside this lock (see `Lock.markGranted`).
    public static func wasGranted(_ tokenFile: String) -> Bool {
        let path = lockPath(tokenFile)
        var info = stat()
        return lstat(path, &info) == 0 && info.st_size > 0
    }
}
