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
/// - Once a token file has been written (recorded in its lock file), or the configured refresh token was claimed
///   (`SpentTokenMarker`, atomically, before it is presented), a missing token file is an error that says so: the
///   configured token is never presented a second time. When no claim can be recorded, it is not presented at all.
/// - Only `invalid_grant` marks the grant dead (recorded in the token file); any other refusal leaves it alone.
public actor LeverOAuth {
    let settings: AppConfig.LeverOAuthSettings
    let transport: any HTTPTransport
    let clock: @Sendable () -> Millis
    let logger: Logger
    let stopping: @Sendable () -> Bool
    private var grant: LeverGrant?
    private var loaded = false
    /// Access tokens a 401 answered: never offered again (a late 401 for an older token leaves the newer alone).
    private var rejectedAccessTokens: Set<String> = []
    private var refreshing: Task<LeverGrant, any Error>?
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
        if let token = loadedGrant()?.usableAccessToken(at: clock()), !rejectedAccessTokens.contains(token) {
            return "Bearer " + token
        }
        let fresh = try await refresh()
        guard let token = fresh.accessToken else { throw PassAbort.credentialsRefused(service: .lever, status: 401) }
        return "Bearer " + token
    }

    /// Drops the access token a 401 answered (`rejected`: the `Authorization` value the request was sent with), so
    /// that the next call refreshes unless a newer token is known already (another request refreshed meanwhile, or
    /// another process did). Returns true (retry once).
    public func invalidate(rejected: String) -> Bool {
        let prefix = "Bearer "
        if rejected.hasPrefix(prefix) { rejectedAccessTokens.insert(String(rejected.dropFirst(prefix.count))) }
        return true
    }

    /// The grant as this process knows it (the token file's, or the newest in memory).
    public func currentGrant() -> LeverGrant? { loadedGrant() }

    /// The grant, read from the token file the first time it is asked for (an unreadable file: none).
    private func loadedGrant() -> LeverGrant? {
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
        if let onFile, let token = onFile.usableAccessToken(at: clock()), !rejectedAccessTokens.contains(token) {
            // Another process refreshed meanwhile.
            grant = onFile
            return onFile
        }
        if let onFile, let refusedAt = onFile.refusedAt {
            throw PassAbort.grant(
                (onFile.refusal ?? "Lever refused this grant") + " (recorded \(RFC3339.format(refusedAt)) in \(path); "
                    + "Lever is not asked again until `lever-hubert-sync authorize` writes a new grant)")
        }
        if onFile == nil, TokenFile.wasGranted(path) {
            throw PassAbort.grant(
                "the token file \(path) is missing, but a grant was stored there before (see "
                    + "\(TokenFile.lockPath(path))); the configured lever.oauth.refreshToken was spent then and is not "
                    + "presented again: restore the token file from a backup or run `lever-hubert-sync authorize`")
        }
        guard let refreshToken = onFile?.refreshToken ?? settings.refreshToken?.value else {
            throw PassAbort.grant(
                "no grant yet: there is no token file at \(path) and no lever.oauth.refreshToken; "
                    + "run `lever-hubert-sync authorize`")
        }
        let fromConfiguration = onFile == nil
        // Before anything is asked of Lever: the temporary file, with room for the new grant, so that a grant
        // Lever rotated can always be written (when it cannot be created, nothing is refreshed).
        let pending = try TokenFile.Pending(for: path)
        if fromConfiguration {
            // Claimed atomically, before it is presented: whatever token file another process uses, one of them
            // presents the configured token, once.
            switch settings.spentMarker.claim(clientId: settings.clientId, token: refreshToken, tokenFile: path) {
            case .claimed: break
            case .spent(let into):
                throw PassAbort.grant(
                    "there is no token file at \(path), and the configured lever.oauth.refreshToken was already "
                        + "exchanged (its successor went to \(into.isEmpty ? "a token file not recorded" : into)); it "
                        + "is not presented again: point lever.oauth.tokenFile (or --database) at that file, or run "
                        + "`lever-hubert-sync authorize`")
            case .unavailable(let reason):
                throw PassAbort.grant(
                    "the configured lever.oauth.refreshToken is not presented: it is good for one use, and the "
                        + "record that it was spent cannot be written (\(reason)); give the user cron runs as a "
                        + "writable HOME (or XDG_STATE_HOME), or run `lever-hubert-sync authorize` to write \(path)")
            }
        }
        // From here until the successor is durable, a last-resort exit waits (see `TokenFile.inFlight`).
        TokenFile.inFlight.begin()
        defer { TokenFile.inFlight.end() }
        let answer: LeverOAuthToken
        do {
            answer = try await LeverTokenEndpoint(settings: settings, transport: transport).refresh(refreshToken)
        } catch let refusal as LeverTokenEndpoint.DeadGrant {
            // Revoked or expired: recorded once, so later passes say so without presenting a dead token again.
            let text = refusal.description
            var dead = onFile ?? LeverGrant(refreshToken: refreshToken)
            dead.accessToken = nil
            dead.accessTokenExpiresAt = nil
            dead.refusedAt = clock()
            dead.refusal = text
            do {
                try pending.commit(dead)
                // Only a token file that was written is recorded beside its lock.
                lock.markGranted(now: clock())
            } catch {
                logger.error(
                    "the refusal could not be recorded in the token file",
                    metadata: ["tokenFile": "\(path)", "error": "\(error)"])
            }
            logger.critical("lever refused the OAuth grant", metadata: ["reason": "\(text)"])
            throw PassAbort.grant(text)
        } catch let unusable as LeverTokenEndpoint.UnusableAnswer {
            // Lever said yes, but gave no access token: a rotated refresh token in the answer is kept all the same.
            if let rotated = unusable.refreshToken {
                var kept = onFile ?? LeverGrant(refreshToken: rotated)
                kept.refreshToken = rotated
                kept.accessToken = nil
                kept.accessTokenExpiresAt = nil
                kept.refreshTokenIssuedAt = clock()
                save(kept, pending: pending, lock: lock)
                grant = kept
            } else if fromConfiguration {
                settings.spentMarker.release(clientId: settings.clientId, token: refreshToken)
            }
            throw PassAbort.unavailable(service: .lever, reason: unusable.description)
        } catch let unanswered as LeverTokenEndpoint.Unanswered where unanswered.maybeSent {
            // The request may have reached Lever, which may have rotated: the configured token's claim is kept (it is
            // never presented again), and the token file is left as it is.
            logger.error(
                "the lever OAuth refresh got no answer after it may have been sent",
                metadata: ["tokenFile": "\(path)", "reason": "\(unanswered.reason)"])
            throw PassAbort.unavailable(
                service: .lever,
                reason: "the OAuth token endpoint gave no answer to the refresh (\(unanswered.reason)) after the "
                    + "request may have reached it, so the refresh token presented may have been spent"
                    + (fromConfiguration ? " (the configured lever.oauth.refreshToken is not presented again)" : "")
                    + "; if the next pass cannot refresh, run `lever-hubert-sync authorize`")
        } catch {
            // No successor came back, and provably none was issued (the request was never sent, or Lever answered
            // with a refusal that is not about the grant): the token presented is still the newest this process
            // knows, and the configured one may be presented again next time.
            if fromConfiguration { settings.spentMarker.release(clientId: settings.clientId, token: refreshToken) }
            throw (error as? LeverTokenEndpoint.Unanswered)?.abort ?? error
        }
        guard let fresh = LeverGrant(answer, previousRefreshToken: refreshToken, previous: onFile, now: clock()) else {
            throw PassAbort.unavailable(service: .lever, reason: "unreadable OAuth token response")
        }
        save(fresh, pending: pending, lock: lock)
        grant = fresh
        rejectedAccessTokens = []
        logger.info("lever OAuth token refreshed", metadata: ["tokenFile": "\(path)"])
        return fresh
    }

    /// Makes a rotated grant durable; when it cannot be written, says so loudly and ends the pass with 77.
    private func save(_ fresh: LeverGrant, pending: TokenFile.Pending, lock: TokenFile.Lock) {
        let path = settings.tokenFile
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
    }
}
