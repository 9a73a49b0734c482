import Foundation

/// The Lever OAuth scopes this tool asks for, and what each one is for (`reference/lever-api.md` §1; the
/// integration article's appendix plus what the tool itself reads: users for perform-as, stages for the trigger).
public enum LeverScopes {
    /// A scope and the features that stop working without it.
    public struct Need: Sendable, Equatable {
        public var scope: String
        public var disables: String
    }

    /// The optional scope for confidential postings and candidates (`lever.oauth.confidentialAccess: true`).
    public static let confidential = "confidential:access:admin"

    /// Every scope `authorize` requests for this configuration, in order: nothing else is ever asked for.
    public static func needed(confidentialAccess: Bool) -> [Need] {
        let table = [
            ("postings:read:admin", "every pass: tagged postings cannot be found (exit 77)"),
            ("opportunities:read:admin", "every pass: applicants cannot be read (exit 77)"),
            ("opportunities:write:admin", "result write-back: grade tags, the Hubert link and autoMove stage moves"),
            ("notes:read:admin", "result notes: a note whose answer was lost cannot be found, so none is written"),
            ("notes:write:admin", "result notes (grade, score, threshold and links)"),
            ("stages:read:admin", "the New applicant trigger by stage name, and autoMove stages given by name"),
            ("tags:read:admin", "check's tag permission probe (View all tags)"),
            ("users:read:admin", "lever.performAs by e-mail (writes as the sync user)"),
            ("applications:read:admin", "finding an applicant's posting when Lever does not expand applications"),
            (
                "archive_reasons:read:admin",
                "reading archived applicants' reasons (the integration article's View all archived reasons)"
            ),
            ("offline_access", "everything after the first hour: without it Lever issues no refresh token"),
        ]
        var needs = table.map { Need(scope: $0, disables: $1) }
        if confidentialAccess {
            needs.append(Need(scope: confidential, disables: "confidential postings and their applicants"))
        }
        return needs
    }

    /// The needed scopes a grant lacks. A write scope is not taken to imply its read scope.
    public static func missing(granted: Set<String>, confidentialAccess: Bool) -> [Need] {
        needed(confidentialAccess: confidentialAccess).filter { !granted.contains($0.scope) }
    }
}

/// Lever's token endpoint (`POST lever.oauth.tokenURL`, form-encoded): the authorization-code exchange and the
/// refresh. Neither request is ever repeated by libcurl (a fresh connection each): a code or a refresh token is
/// good for one use.
public struct LeverTokenEndpoint: Sendable {
    let settings: AppConfig.LeverOAuthSettings
    let transport: any HTTPTransport

    public init(settings: AppConfig.LeverOAuthSettings, transport: any HTTPTransport) {
        self.settings = settings
        self.transport = transport
    }

    /// The refresh grant.
    public func refresh(_ refreshToken: String) async throws -> LeverOAuthToken {
        var form = QueryString()
        form.add("grant_type", "refresh_token")
        form.add("client_id", settings.clientId)
        form.add("client_secret", settings.clientSecret.value)
        form.add("refresh_token", refreshToken)
        return try await post(form, what: "refresh token")
    }

    /// The authorization-code grant.
    public func exchange(code: String) async throws -> LeverOAuthToken {
        var form = QueryString()
        form.add("grant_type", "authorization_code")
        form.add("client_id", settings.clientId)
        form.add("client_secret", settings.clientSecret.value)
        form.add("code", code)
        form.add("redirect_uri", settings.redirectURI ?? "")
        return try await post(form, what: "authorization code")
    }

    /// `invalid_grant` to a refresh: the grant itself is dead (revoked, expired, reused), rather than the client's id
    /// or secret being wrong or the request being refused for another reason. Its description never shows a token.
    public struct DeadGrant: Error, Sendable, CustomStringConvertible {
        public var description: String {
            "Lever refused the refresh token (invalid_grant): the app's access was revoked in Lever (Settings › "
                + "Integrations and API › Authorized Apps), or the grant expired (a year old, or 90 days unused); run "
                + "`lever-hubert-sync authorize` to grant access again"
        }
    }

    /// No answer came back. `maybeSent`: the request may have reached Lever (a timeout or a dropped connection after
    /// it was sent), so the code or refresh token it carried may be spent; false only when the transport proves it was
    /// never sent (DNS, connect, TLS handshake). Its description never shows a token.
    public struct Unanswered: Error, Sendable, CustomStringConvertible {
        public let maybeSent: Bool
        public let reason: String
        public var description: String { "OAuth token endpoint unreachable (\(reason))" }
        /// As the pass reports it: the service unavailable (exit 75).
        public var abort: PassAbort { .unavailable(service: .lever, reason: description) }
    }

    /// A 2xx answer that gives no usable access token. It may still carry the rotated refresh token, which must be
    /// kept (the one presented is spent). Its description never shows a token.
    public struct UnusableAnswer: Error, Sendable, CustomStringConvertible {
        public let refreshToken: String?
        public var description: String {
            "Lever's OAuth token answer carried no usable access token"
                + (refreshToken == nil ? "" : " (its new refresh token was kept)")
        }
    }

    private func post(_ form: QueryString, what: String) async throws -> LeverOAuthToken {
        let request = HTTPRequestMessage(
            method: .post, url: settings.tokenURL,
            headers: [
                (name: "Content-Type", value: "application/x-www-form-urlencoded"),
                (name: "Accept", value: "application/json"),
                (name: "User-Agent", value: ToolVersion.userAgent),
            ],
            body: Data(form.encoded.utf8), freshConnection: true)
        let response: HTTPResponseMessage
        do {
            response = try await transport.send(request)
        } catch TransportFailure.notSent(_, let reason) {
            throw Unanswered(maybeSent: false, reason: reason)
        } catch TransportFailure.maybeSent(_, let reason) {
            throw Unanswered(maybeSent: true, reason: reason)
        } catch {
            // Nothing proves it was not sent.
            throw Unanswered(maybeSent: true, reason: "\(error)")
        }
        switch response.status {
        case 200..<300:
            if let token = try? JSONDecoder().decode(LeverOAuthToken.self, from: response.body),
                !token.accessToken.isEmpty
            {
                return token
            }
            let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
            let rotated = (object?["refresh_token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            throw UnusableAnswer(refreshToken: rotated)
        case 400, 401, 403:
            // Only the error code is repeated: a description is the server's text, and nothing of ours is in it.
            let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
            let code = String(
                ((object?["error"] as? String) ?? "").prefix(40).filter { $0.isLetter || $0 == "_" || $0.isNumber })
            switch code {
            case "invalid_grant":
                if what == "authorization code" {
                    throw PassAbort.grant(
                        "Lever refused the authorization code (invalid_grant): it was used already, expired, or "
                            + "issued for another redirect URI; run `lever-hubert-sync authorize` again")
                }
                throw DeadGrant()
            case "invalid_client", "unauthorized_client":
                // The configuration, not the grant: the token file is left as it is.
                throw PassAbort.grant(
                    "Lever refused the OAuth client (\(code)): check lever.oauth.clientId and lever.oauth.clientSecret "
                        + "(the grant itself was not touched)")
            default:
                // Anything else (invalid_request, a proxy's error page, …) says nothing about the grant: try later.
                throw PassAbort.unavailable(
                    service: .lever,
                    reason: "OAuth token endpoint answered \(response.status)"
                        + (code.isEmpty ? "" : " (\(code))") + " to the \(what); the grant was left as it is")
            }
        default:
            throw PassAbort.unavailable(
                service: .lever, reason: "OAuth token endpoint answered \(response.status)")
        }
    }
}

/// The authorization-code grant's front half: the URL a person opens, and the redirect that comes back.
public struct LeverAuthorizationRequest: Sendable {
    /// The random `state` (128 bits, hex) the redirect must echo.
    public let state: String
    /// The URL to open in a browser.
    public let url: String
    /// The scopes asked for.
    public let scopes: [String]

    public init(settings: AppConfig.LeverOAuthSettings, state: String = LeverAuthorizationRequest.randomState()) {
        self.state = state
        scopes = LeverScopes.needed(confidentialAccess: settings.confidentialAccess).map(\.scope)
        var query = QueryString()
        query.add("client_id", settings.clientId)
        query.add("redirect_uri", settings.redirectURI ?? "")
        query.add("response_type", "code")
        query.add("state", state)
        query.add("audience", settings.audience)
        query.add("scope", scopes.joined(separator: " "))
        query.add("prompt", "consent")
        url = settings.authorizeURL + (settings.authorizeURL.contains("?") ? "&" : "?") + query.encoded
    }

    /// 128 random bits in hex.
    public static func randomState() -> String {
        (0..<2).map { _ in
            let part = String(UInt64.random(in: .min ... .max), radix: 16)
            return String(repeating: "0", count: 16 - part.count) + part
        }.joined()
    }

    /// What a redirect carried.
    public enum Outcome: Sendable, Equatable {
        /// The code to exchange.
        case code(String)
        /// Refused (`state` wrong or missing, an `error` from Lever, no code): the reason, never a code.
        case refused(String)
        /// Not this authorization's redirect (`state` wrong or missing): refused, and the right one may still come.
        case foreign(String)
    }

    /// Reads a redirect (a whole URL, or just its `?query`), checking `state` first.
    public func outcome(ofRedirect text: String) -> Outcome {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let query: String
        if let mark = trimmed.firstIndex(of: "?") {
            query = String(trimmed[trimmed.index(after: mark)...].prefix { $0 != "#" })
        } else {
            query = trimmed
        }
        var values: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2, values[parts[0]] == nil { values[parts[0]] = parts[1] }
        }
        guard let echoed = values["state"] else {
            return .foreign("the redirect carries no state: it was not the answer to this authorization")
        }
        guard echoed == state else {
            return .foreign(
                "the redirect's state does not match this authorization's: refused (an old or forged redirect)")
        }
        if let error = values["error"] {
            let safe = String(error.prefix(40).filter { $0.isLetter || $0 == "_" })
            return .refused("Lever answered \(safe): access was not granted")
        }
        guard let code = values["code"], !code.isEmpty else { return .refused("the redirect carries no code") }
        return .code(code)
    }
}

/// What `authorize` and `check` say about a grant's scopes.
public enum GrantReport {
    /// One line per needed scope the grant lacks, with the features it disables; empty when nothing is missing.
    public static func missingLines(granted: Set<String>, confidentialAccess: Bool) -> [String] {
        LeverScopes.missing(granted: granted, confidentialAccess: confidentialAccess).map {
            "\($0.scope) was not granted: disables \($0.disables)"
        }
    }

    /// When the grant dies whatever its use: Lever's refresh token expires a year after the authorization
    /// (`reference/lever-api.md` §1), counted from `authorizedAt` (unknown for a grant obtained elsewhere).
    public static func absoluteExpiry(_ grant: LeverGrant) -> Millis? {
        grant.authorizedAt.map { $0 + 365 * 86_400_000 }
    }

    /// How long the refresh token has been unused and when Lever lets it die (90 days idle).
    public static func idle(_ grant: LeverGrant, now: Millis) -> (days: Int, diesAt: Millis)? {
        guard let issued = grant.refreshTokenIssuedAt else { return nil }
        return (Int(max(0, now - issued) / 86_400_000), issued + 90 * 86_400_000)
    }
}
