import Foundation
import LeverHubertSync

/// Lever's OAuth server (Auth0) as far as this tool meets it: `GET /authorize` (the consent is given at once, as if
/// a person had logged in and clicked Accept; the redirect echoes `state`), `POST /oauth/token` with the
/// authorization-code grant (a code is good once, for its redirect URI) and the refresh grant with rotation on every
/// refresh. Reuse of a refresh token that was already rotated revokes the whole family (Auth0's reuse detection),
/// access tokens included. Thread-safe; the Lever sandbox routes to it.
public final class LeverOAuthSandbox: @unchecked Sendable {
    private struct Family {
        var revoked = false
        var current: String
        var scope: String
    }
    private struct Code {
        var redirectURI: String
        var scope: String
    }

    private let lock = NSLock()
    private var client: (id: String, secret: String)?
    private var redirectURIs: Set<String> = []
    private var audience = ""
    private var accessTTLSeconds = 3600
    private var grantedScopes: [String]?
    private var families: [Family] = []
    private var refreshTokens: [String: (family: Int, used: Bool)] = [:]
    private var accessTokens: [String: (family: Int, expiresAt: Millis)] = [:]
    private var codes: [String: Code] = [:]
    private var _presented: [String] = []
    private var _issued: [String] = []
    private var _refreshes = 0
    private var _exchanges = 0
    private var _reuses = 0
    private var _authorizeQueries: [[(name: String, value: String)]] = []
    private var _tokenDelayMs = 0
    private var tokenFaults: [TokenFault] = []

    /// What the token endpoint does instead of answering normally, once each, in order.
    public enum TokenFault: Sendable {
        /// Refuses before looking at the request (nothing rotated): an `error` code other than Auth0's usual.
        case refuse(status: Int, error: String)
        /// Rotates as usual, but the answer carries the new refresh token and no access token.
        case noAccessToken
        /// Answers as usual, but without `scope` (the answer says nothing of what was granted).
        case noScope
    }

    public init() {}

    /// Registers the client. `redirectURIs` must match exactly (as Lever requires); `grantedScopes` nil grants what
    /// is asked, else only these (a person who unticked some, or an app registered with fewer).
    public func configure(
        clientId: String, clientSecret: String, redirectURIs: [String] = [], audience: String = "",
        accessTTLSeconds: Int = 3600, grantedScopes: [String]? = nil
    ) {
        lock.withLock {
            client = (clientId, clientSecret)
            self.redirectURIs = Set(redirectURIs)
            self.audience = audience
            self.accessTTLSeconds = accessTTLSeconds
            self.grantedScopes = grantedScopes
        }
    }

    /// Starts a grant from a refresh token obtained elsewhere (the configured `refreshToken`).
    public func seed(refreshToken: String, scope: String = "opportunities:read:admin offline_access") {
        lock.withLock {
            families.append(Family(current: refreshToken, scope: scope))
            refreshTokens[refreshToken] = (families.count - 1, false)
        }
    }

    /// Access tokens live this long from now on.
    public func setAccessTTL(seconds: Int) { lock.withLock { accessTTLSeconds = seconds } }
    /// Holds every token endpoint answer back this long (after the grant was rotated): a slow Lever.
    public func setTokenDelay(ms: Int) { lock.withLock { _tokenDelayMs = ms } }
    /// The next token endpoint requests meet these faults, one each.
    public func addTokenFaults(_ faults: [TokenFault]) { lock.withLock { tokenFaults += faults } }
    /// What `/authorize` grants from now on (nil: what is asked).
    public func setGrantedScopes(_ scopes: [String]?) { lock.withLock { grantedScopes = scopes } }

    /// The refresh token the newest live grant accepts.
    public var currentRefreshToken: String? {
        lock.withLock { families.last(where: { !$0.revoked })?.current }
    }
    /// Refresh grants served (rotations).
    public var refreshes: Int { lock.withLock { _refreshes } }
    /// Authorization codes exchanged.
    public var exchanges: Int { lock.withLock { _exchanges } }
    /// Refresh tokens presented a second time (each one revoked its family).
    public var reuses: Int { lock.withLock { _reuses } }
    /// Every refresh token presented, in order.
    public var presented: [String] { lock.withLock { _presented } }
    /// Every secret this server ever handed out (codes, access and refresh tokens): none may show up anywhere.
    public var issued: [String] { lock.withLock { _issued } }
    /// The query of every `/authorize` request, in order.
    public var authorizeQueries: [[(name: String, value: String)]] { lock.withLock { _authorizeQueries } }
    /// Whether any grant is still live.
    public var hasLiveGrant: Bool { lock.withLock { families.contains { !$0.revoked } } }

    /// Makes every access token issued so far invalid (as after an expiry).
    public func expireAccessTokens() { lock.withLock { accessTokens.removeAll() } }

    /// Settings › Integrations and API › Authorized Apps › Revoke Access: every grant and its tokens die.
    public func revokeAll() {
        lock.withLock {
            for index in families.indices { families[index].revoked = true }
            accessTokens.removeAll()
        }
    }

    /// Whether a Bearer token is good at `now`.
    public func isValid(accessToken: String, now: Millis) -> Bool {
        lock.withLock {
            guard let entry = accessTokens[accessToken] else { return false }
            return entry.expiresAt > now && !families[entry.family].revoked
        }
    }

    private func newSecret(_ prefix: String) -> String {
        let secret = prefix + UUID().uuidString.lowercased()
        _issued.append(secret)
        return secret
    }

    /// `GET /authorize`.
    public func authorize(_ request: SandboxRequest) -> SandboxResponse {
        lock.withLock {
            _authorizeQueries.append(request.query)
            guard let client, request.value("client_id") == client.id else {
                return .json(400, ["error": "invalid_request", "error_description": "Unknown client"])
            }
            guard let redirect = request.value("redirect_uri"), redirectURIs.contains(redirect) else {
                // Auth0 never redirects to an unregistered URI: it shows an error page.
                return .json(400, ["error": "invalid_request", "error_description": "Callback URL mismatch"])
            }
            var location = redirect + (redirect.contains("?") ? "&" : "?")
            var query = QueryString()
            if let state = request.value("state") { query.add("state", state) }
            let asked = (request.value("scope") ?? "").split(separator: " ").map(String.init)
            if request.value("response_type") != "code" {
                query.add("error", "unsupported_response_type")
            } else if !audience.isEmpty && request.value("audience") != audience {
                query.add("error", "access_denied")
                query.add("error_description", "Service not found")
            } else {
                let granted = grantedScopes.map { allowed in asked.filter { allowed.contains($0) } } ?? asked
                let code = newSecret("code-")
                codes[code] = Code(redirectURI: redirect, scope: granted.joined(separator: " "))
                query.add("code", code)
            }
            location += query.encoded
            return SandboxResponse(status: 302, headers: ["Location": location])
        }
    }

    /// `POST /oauth/token`.
    public func token(_ request: SandboxRequest, now: Millis) -> SandboxResponse {
        var form: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        return lock.withLock {
            var answer: SandboxResponse
            switch tokenFaults.isEmpty ? nil : tokenFaults.removeFirst() {
            case .refuse(let status, let error):
                answer = .json(status, ["error": error, "error_description": "Refused by the sandbox"])
            case .noAccessToken:
                answer = tokenLocked(form, now: now)
                if answer.status == 200,
                    let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any],
                    let refresh = object["refresh_token"] as? String
                {
                    answer = .json(200, ["refresh_token": refresh, "token_type": "Bearer"])
                }
            case .noScope:
                answer = tokenLocked(form, now: now)
                if answer.status == 200,
                    var object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
                {
                    object["scope"] = nil
                    answer = .json(200, object)
                }
            case nil:
                answer = tokenLocked(form, now: now)
            }
            answer.delayMs = _tokenDelayMs
            return answer
        }
    }

    private func tokenLocked(_ form: [String: String], now: Millis) -> SandboxResponse {
        guard let client, form["client_id"] == client.id, form["client_secret"] == client.secret else {
            return .json(401, ["error": "invalid_client", "error_description": "Unknown client"])
        }
        let family: Int
        switch form["grant_type"] {
        case "authorization_code":
            guard let code = form["code"], let entry = codes.removeValue(forKey: code),
                form["redirect_uri"] == entry.redirectURI
            else {
                return .json(403, ["error": "invalid_grant", "error_description": "Invalid authorization code"])
            }
            _exchanges += 1
            families.append(Family(current: "", scope: entry.scope))
            family = families.count - 1
        case "refresh_token":
            guard let presented = form["refresh_token"] else {
                return .json(400, ["error": "invalid_request", "error_description": "Missing refresh_token"])
            }
            _presented.append(presented)
            guard let entry = refreshTokens[presented], !families[entry.family].revoked else {
                return .json(403, ["error": "invalid_grant", "error_description": "Unknown or invalid refresh token."])
            }
            if entry.used {
                // Reuse detection: the whole family dies, access tokens included.
                _reuses += 1
                families[entry.family].revoked = true
                return .json(403, ["error": "invalid_grant", "error_description": "Unknown or invalid refresh token."])
            }
            refreshTokens[presented]?.used = true
            _refreshes += 1
            family = entry.family
        default:
            return .json(400, ["error": "unsupported_grant_type"])
        }
        let access = newSecret("at-")
        let refresh = newSecret("rt-")
        accessTokens[access] = (family, now + Millis(accessTTLSeconds) * 1000)
        refreshTokens[refresh] = (family, false)
        families[family].current = refresh
        let scope = families[family].scope
        return .json(
            200,
            [
                "access_token": access, "refresh_token": refresh, "token_type": "Bearer", "scope": scope,
                "expires_in": accessTTLSeconds,
            ])
    }
}
