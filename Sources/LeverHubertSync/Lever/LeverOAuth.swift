import Foundation

/// Lever OAuth 2.0 with refresh-token rotation: access tokens are refreshed a minute before they expire, and every
/// refresh's new refresh token is written to `tokenFile` (mode 0600, atomically) before the access token is used,
/// so a crash never loses it. Concurrent callers share one refresh (a second refresh with the rotated token would fail).
public actor LeverOAuth {
    let settings: AppConfig.LeverOAuthSettings
    let transport: any HTTPTransport
    let clock: @Sendable () -> Millis
    private var access: (token: String, expiresAt: Millis)?
    private var refreshing: Task<Void, any Error>?
    /// How many refreshes this process made (for tests and logs).
    public private(set) var refreshCount = 0

    public init(
        settings: AppConfig.LeverOAuthSettings, transport: any HTTPTransport,
        clock: @escaping @Sendable () -> Millis = { Date().millis }
    ) {
        self.settings = settings
        self.transport = transport
        self.clock = clock
    }

    /// The `Authorization` header value, refreshing first when the token is missing or about to expire.
    public func authorization() async throws -> String {
        if let access, access.expiresAt - clock() > 60_000 { return "Bearer " + access.token }
        try await refresh()
        guard let access else { throw PassAbort.credentialsRefused(service: .lever, status: 401) }
        return "Bearer " + access.token
    }

    /// Drops the access token after a 401, so that the next call refreshes. Returns true (retry once).
    public func invalidate() -> Bool {
        access = nil
        return true
    }

    /// The newest refresh token: the token file when present (it is newer than the configuration), else the configured one.
    func currentRefreshToken() -> String? {
        if let data = FileManager.default.contents(atPath: settings.tokenFile),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        {
            return text
        }
        return settings.refreshToken?.value
    }

    private func refresh() async throws {
        if let refreshing { return try await refreshing.value }
        let task = Task { try await self.performRefresh() }
        refreshing = task
        defer { refreshing = nil }
        try await task.value
    }

    private func performRefresh() async throws {
        guard let refreshToken = currentRefreshToken() else {
            throw PassAbort.configuration("lever.oauth: no refresh token (configuration or \(settings.tokenFile))")
        }
        var form = QueryString()
        form.add("grant_type", "refresh_token")
        form.add("client_id", settings.clientId)
        form.add("client_secret", settings.clientSecret.value)
        form.add("refresh_token", refreshToken)
        let request = HTTPRequestMessage(
            method: .post, url: settings.tokenURL,
            headers: [
                (name: "Content-Type", value: "application/x-www-form-urlencoded"),
                (name: "Accept", value: "application/json"),
            ],
            body: Data(form.encoded.utf8),
            // A refresh rotates the refresh token: a silent libcurl re-send would spend
            // the old one a second time and fail, so it goes on a fresh connection.
            freshConnection: true)
        let response: HTTPResponseMessage
        do {
            response = try await transport.send(request)
        } catch {
            throw PassAbort.unavailable(service: .lever, reason: "OAuth token endpoint unreachable")
        }
        switch response.status {
        case 200..<300: break
        case 400, 401, 403: throw PassAbort.credentialsRefused(service: .lever, status: response.status)
        default:
            throw PassAbort.unavailable(service: .lever, reason: "OAuth token endpoint answered \(response.status)")
        }
        guard let token = try? JSONDecoder().decode(LeverOAuthToken.self, from: response.body) else {
            throw PassAbort.unavailable(service: .lever, reason: "unreadable OAuth token response")
        }
        if let rotated = token.refreshToken, rotated != refreshToken {
            try Self.persist(rotated, to: settings.tokenFile)
        }
        refreshCount += 1
        // A lifetime from the server is clamped (a day at most) so that no arithmetic on it can overflow.
        let lifetime = Millis(min(max(token.expiresIn ?? 3600, 0), 86_400))
        access = (token.accessToken, clock() + lifetime * 1000)
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
    static func uniqueSuffix() -> String {
        ".\(getpid()).\(String(UInt64.random(in: .min ... .max), radix: 16)).tmp"
    }

    /// Writes every byte, continuing after partial writes and `EINTR`; false on any other error.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
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
