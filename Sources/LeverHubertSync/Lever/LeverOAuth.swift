import Foundation
import Logging

/// Lever OAuth 2.0 with refresh-token rotation, keeping the grant whatever happens to the process.
///
/// - The access token is kept in the token file with its expiry and reused by every pass until it is about to expire
///   (margin `min(60 s, lifetime / 2)`): a pass within the hour makes no refresh at all.
/// - A refresh holds the token file's own lock (`<tokenFile>.lock`, `flock`) and re-reads the file under it: two
///   processes sharing a token file (whatever their `--database`) never present the same refresh token twice.
/// - A refresh runs to completion outside the pass's cancellation (its own transport and timeout, no abort signal):
///   a SIGTERM or a pass deadline in the middle never throws away an answer Lever has rotated for.
/// - The new grant is durable (temporary file created before Lever is asked, written, fsynced, renamed, directory
///   fsynced) before it is used. When it cannot be written, the failure is logged loudly, the grant is used in
///   memory for this process, and the pass ends with exit 77 naming the file (`unsavedGrant`).
/// - Once a token file has been written (recorded in its lock file), or the configured refresh token was spent
///   (`SpentTokenMarker`), a missing token file is an error that says so: the configured token is never presented
///   a second time.
public actor LeverOAuth {
    let settings: AppConfig.LeverOAuthSettings
    let transport: any HTTPTransport
    let clock: @Sendable () -> Millis
    let logger: Logger
    let stopping: @Sendable () -> Bool
    private var grant: LeverGrant?
    private var loaded = false
    private var rejectedAccessToken: String?
    private var refreshing: Task<LeverGrant, any Error>?
    /// How many refreshes this process made (for tests and logs).
    public private(set) var refreshCount = 0
    /// Set when a refreshed grant could not be written to the token file: the pass ends with this (exit 77).
    public private(set) var unsavedGrant: PassAbort?

    /// The token endpoint's own time limit (a refresh is never cut short by the pass's `requestTimeoutMs`, deadline
    /// or a signal; the process still exits within 10 s of a SIGTERM).
    public static let refreshTimeoutMs = 8_000

    /// `transport` must be the token endpoint's own, without the pass's abort signal; `stopping` tells whether the
    /// pass is stopping (then no new refresh starts, and a refresh begun is finished).
    public init(
        settings: AppConfig.LeverOAuthSettings, transport: any HTTPTransport,
        logger: Logger = Logger(label: "lever-hubert-sync") { _ in SwiftLogNoOpLogHandler() },
        stopping: @escaping @Sendable () -> Bool = { false },
        clock: @escaping @Sendable () -> Millis = { Date().millis }
    ) {
        self.settings = settings
        self.transport = transport
        self.logger = logger
        self.stopping = stopping
        self.clock = clock
    }

    /// The `Authorization` header value: the stored access token while it is good, else a refresh first.
    public func authorization() async throws -> String {
        if !loaded {
            loaded = true
            grant = (try? TokenFile.read(settings.tokenFile)) ?? nil
        }
        if let token = grant?.usableAccessToken(at: clock()), token != rejectedAccessToken {
            return "Bearer " + token
        }
        let fresh = try await refresh()
        guard let token = fresh.accessToken else { throw PassAbort.credentialsRefused(service: .lever, status: 401) }
        return "Bearer " + token
    }

    /// Drops the access token after a 401, so that the next call refreshes (unless another process already did).
    /// Returns true (retry once).
    public func invalidate() -> Bool {
        rejectedAccessToken = grant?.accessToken
        return true
    }

    /// The grant as this process knows it (the token file's, or the newest in memory).
    public func currentGrant() -> LeverGrant? {
        if !loaded {
            loaded = true
            grant = (try? TokenFile.read(settings.tokenFile)) ?? nil
        }
        return grant
    }

    private func refresh() async throws -> LeverGrant {
        if let refreshing { return try await refreshing.value }
        if stopping() { throw CancellationError() }
        // Detached: the pass's cancellation does not reach it; it ends by its own timeout.
        let task = Task.detached { try await self.lockedRefresh() }
        refreshing = task
        defer { refreshing = nil }
        return try await task.value
    }

    private func lockedRefresh() async throws -> LeverGrant {
        let path = settings.tokenFile
        let lock = try await TokenFile.lock(path, stop: stopping)
        defer { lock.release() }
        let onFile = try TokenFile.read(path)
        if let onFile, let token = onFile.usableAccessToken(at: clock()), token != rejectedAccessToken {
            // Another process refreshed meanwhile.
            grant = onFile
            return onFile
        }
        if let onFile, let refusedAt = onFile.refusedAt {
            throw PassAbort.grant(
                (onFile.refusal ?? "Lever refused this grant") + " (recorded \(RFC3339.format(refusedAt)) in \(path); "
                    + "Lever is not asked again until `lever-hubert-sync authorize` writes a new grant)")
        }
        let refreshToken: String
        var fromConfiguration = false
        if let onFile {
            refreshToken = onFile.refreshToken
        } else if TokenFile.wasGranted(path) {
            throw PassAbort.grant(
                "the token file \(path) is missing, but a grant was stored there before (see "
                    + "\(TokenFile.lockPath(path))); the configured lever.oauth.refreshToken was spent then and is not "
                    + "presented again: restore the token file from a backup or run `lever-hubert-sync authorize`")
        } else if let configured = settings.refreshToken?.value {
            if let spentInto = settings.spentMarker.spentInto(clientId: settings.clientId, token: configured) {
                throw PassAbort.grant(
                    "there is no token file at \(path), and the configured lever.oauth.refreshToken was already "
                        + "exchanged (its successor went to \(spentInto)); it is not presented again: point "
                        + "lever.oauth.tokenFile (or --database) at that file, or run `lever-hubert-sync authorize`")
            }
            refreshToken = configured
            fromConfiguration = true
        } else {
            throw PassAbort.grant(
                "no grant yet: there is no token file at \(path) and no lever.oauth.refreshToken; "
                    + "run `lever-hubert-sync authorize`")
        }
        // Before anything is asked of Lever: when the new grant could not be written, nothing is refreshed.
        let pending = try TokenFile.Pending(for: path)
        if fromConfiguration,
            !settings.spentMarker.record(clientId: settings.clientId, token: refreshToken, tokenFile: path)
        {
            logger.warning(
                "could not record that the configured refresh token was spent",
                metadata: ["directory": "\(settings.spentMarker.directory ?? "none (no HOME)")"])
        }
        let answer: LeverOAuthToken
        do {
            answer = try await LeverTokenEndpoint(settings: settings, transport: transport).refresh(refreshToken)
        } catch PassAbort.grant(let text) where LeverTokenEndpoint.isDeadGrant(text) {
            // Revoked or expired: recorded once, so later passes say so without presenting a dead token again.
            var dead = onFile ?? LeverGrant(refreshToken: refreshToken)
            dead.accessToken = nil
            dead.accessTokenExpiresAt = nil
            dead.refusedAt = clock()
            dead.refusal = text
            try? pending.commit(dead)
            lock.markGranted(now: clock())
            logger.critical("lever refused the OAuth grant", metadata: ["reason": "\(text)"])
            throw PassAbort.grant(text)
        }
        refreshCount += 1
        guard let fresh = LeverGrant(answer, previousRefreshToken: refreshToken, previous: onFile, now: clock()) else {
            throw PassAbort.unavailable(service: .lever, reason: "unreadable OAuth token response")
        }
        do {
            try pending.commit(fresh)
            lock.markGranted(now: clock())
        } catch {
            let abort = PassAbort.grant(
                "the refreshed grant could not be written to the token file \(path) (\(error)); it was used for "
                    + "this pass only and is lost when the process ends: make the file writable, then run "
                    + "`lever-hubert-sync authorize`")
            unsavedGrant = abort
            logger.critical(
                "THE LEVER OAUTH GRANT COULD NOT BE SAVED: Lever rotated the refresh token and the new one could not be written",
                metadata: ["tokenFile": "\(path)", "error": "\(error)"])
        }
        grant = fresh
        rejectedAccessToken = nil
        logger.info("lever OAuth token refreshed", metadata: ["tokenFile": "\(path)"])
        return fresh
    }

    /// Writes the refresh token atomically with mode 0600: a new temporary file beside it (`O_EXCL|O_NOFOLLOW`, so
    /// neither a planted symlink nor an existing file is ever written through), every byte written, fsync, rename
    /// over the token file, then fsync of the directory so the rename itself survives a power loss. The temporary
    /// name carries the pid and 64 random bits: a stale one left by a crashed run never blocks the next.
    static func persist(_ token: String, to path: String, temporaryName: () -> String = uniqueSuffix) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let failure = PassAbort.configuration("lever.oauth.tokenFile: cannot write the OAuth token file \(path)")
        var fd: Int32 = -1
        var tmp = ""
        for _ in 0..<8 {
            tmp = directory + "/." + url.lastPathComponent + temporaryName()
            fd = open(tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw failure }
        var renamed = false
        defer { if !renamed { unlink(tmp) } }
        guard fchmod(fd, 0o600) == 0, writeAll(Array(token.utf8), to: fd), fsync(fd) == 0 else {
            close(fd)
            throw failure
        }
        guard close(fd) == 0, rename(tmp, path) == 0 else { throw failure }
        renamed = true
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// `.<pid>.<64 random bits in hex>.tmp`.
    public static func uniqueSuffix() -> String {
        ".\(getpid()).\(String(UInt64.random(in: .min ... .max), radix: 16)).tmp"
    }

    /// Writes every byte, continuing after partial writes and `EINTR`; false on any other error.
    public static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
