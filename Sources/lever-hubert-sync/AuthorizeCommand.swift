import ArgumentParser
import Foundation
import LeverHubertSync

/// `authorize`: Lever OAuth's authorization-code grant, the integration article's "Grant Access", for a server
/// without a browser.
struct AuthorizeCommand: ExitStatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "authorize",
        abstract: "Grants Lever access (OAuth): prints the authorization URL and writes the token file.",
        discussion: """
            Prints Lever's authorization URL asking for exactly the scopes the configuration needs. Open it, log in \
            to Lever as a Super Admin and click Accept. The redirect is received on a loopback listener at \
            lever.oauth.redirectURI (http://127.0.0.1:<port>/callback, reachable through an SSH tunnel), or, with \
            --manual, pasted on standard input. The state is checked, the code exchanged, and the grant written to \
            lever.oauth.tokenFile (mode 0600). No token is ever printed.
            """)

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Read the redirect URL from standard input instead of listening for it.")
    var manual = false

    @Option(name: .long, help: "How long to wait for the redirect, in seconds.")
    var waitSeconds: Int = 600

    func validate() throws {
        guard waitSeconds > 0 else { throw ValidationError("--wait-seconds must be positive") }
    }

    func outcome() async -> ExitStatus {
        await AuthorizeRunner.execute(common: common, manual: manual, waitSeconds: waitSeconds)
    }
}

/// What `authorize --json` prints: where the grant went and what it lacks. Never a token.
struct AuthorizeReport: Encodable {
    struct Missing: Codable {
        var scope: String
        var disables: String
    }
    var exitCode: Int32
    var message: String?
    var tokenFile: String?
    var requested: [String]
    /// null when Lever's answer did not say which scopes it granted.
    @ExplicitNull var granted: [String]?
    /// null when the granted scopes are not known.
    @ExplicitNull var missing: [Missing]?
}

enum AuthorizeRunner {
    static func execute(common: CommonOptions, manual: Bool, waitSeconds: Int) async -> ExitStatus {
        let environment = ProcessInfo.processInfo.environment
        let config: AppConfig
        do {
            config = try ConfigLoader.load(
                path: common.config, databaseOverride: common.database, environment: environment
            ).config
        } catch {
            return finish(common, status: .configuration, message: "\(error)")
        }
        guard let settings = config.lever.oauth else {
            return finish(
                common, status: .configuration,
                message: "authorize needs lever.oauth (clientId, clientSecret, redirectURI) in the configuration")
        }
        guard let redirectURI = settings.redirectURI, let redirect = URL(string: redirectURI) else {
            return finish(
                common, status: .configuration,
                message: "authorize needs lever.oauth.redirectURI: the redirect URI registered with Lever, "
                    + "e.g. http://127.0.0.1:8723/callback")
        }
        let request = LeverAuthorizationRequest(settings: settings)
        let requested = request.scopes
        // Instructions go to stderr with --json (stdout carries the one JSON object), else to stdout.
        let say: (String) -> Void = { text in
            let handle = common.json ? FileHandle.standardError : FileHandle.standardOutput
            handle.write(Data((text + "\n").utf8))
        }

        let target: String?
        if manual {
            say("Open this URL in a browser, log in to Lever as a Super Admin and click Accept:")
            say("")
            say(request.url)
            say("")
            say("Then paste here the address the browser was sent to (it starts with \(redirectURI)):")
            // A redirect of another authorization (an old tab, a forged link) is refused, and the right one may
            // still be pasted: the wait ends with a redirect of this one, the end of the input, or the timeout.
            let deadline = Date().addingTimeInterval(Double(waitSeconds))
            var pasted: String?
            while let line = await readLine(until: deadline) {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                pasted = line
                guard case .foreign(let reason) = request.outcome(ofRedirect: line) else { break }
                say("Refused: \(reason). Paste the address of this authorization's redirect:")
            }
            target = pasted
        } else {
            guard redirect.scheme == "http", ["127.0.0.1", "localhost"].contains(redirect.host ?? ""),
                let port = redirect.port
            else {
                return finish(
                    common, status: .configuration,
                    message: "lever.oauth.redirectURI \(redirectURI) is not a loopback URI with a port "
                        + "(http://127.0.0.1:<port>/callback): use --manual, or register a loopback URI with Lever")
            }
            let receiver: LoopbackReceiver
            do {
                receiver = try LoopbackReceiver(port: UInt16(clamping: port))
            } catch {
                return finish(common, status: .configuration, message: "\(error)")
            }
            say("Open this URL in a browser, log in to Lever as a Super Admin and click Accept:")
            say("")
            say(request.url)
            say("")
            say(
                "Waiting for the redirect on 127.0.0.1:\(receiver.port) (up to \(waitSeconds) s; on a server "
                    + "without a browser: ssh -L \(receiver.port):127.0.0.1:\(receiver.port) this-host).")
            let path = redirect.path.isEmpty ? "/" : redirect.path
            target = await receiver.receive(path: path, timeoutSeconds: waitSeconds) { target in
                switch request.outcome(ofRedirect: target) {
                case .code: ("Lever access received. Return to the terminal; you can close this window.", true)
                case .refused(let reason): ("Refused: \(reason). Return to the terminal.", true)
                case .foreign(let reason):
                    ("Refused: \(reason). Still waiting for this authorization's redirect.", false)
                }
            }
        }
        guard let target else {
            return finish(
                common, status: .temporary,
                message: "no redirect received; nothing was granted (run authorize again)", requested: requested)
        }
        let code: String
        switch request.outcome(ofRedirect: target) {
        case .refused(let reason), .foreign(let reason):
            return finish(
                common, status: .credentialRefused, message: "authorization refused: \(reason)",
                requested: requested)
        case .code(let value): code = value
        }

        var options = TransportOptions()
        options.caFile = config.lever.caFile
        options.maxConcurrent = 1
        options.totalTimeoutMs = LeverOAuth.refreshTimeoutMs
        let endpoint = LeverTokenEndpoint(settings: settings, transport: CurlTransport(options: options))
        do {
            // The token file's lock: no pass refreshes the old grant while the new one is written.
            let lock = try await TokenFile.lock(settings.tokenFile)
            defer { lock.release() }
            let pending = try TokenFile.Pending(for: settings.tokenFile)
            let answer = try await endpoint.exchange(code: code)
            let now = Date().millis
            guard answer.refreshToken != nil,
                var grant = LeverGrant(answer, previousRefreshToken: nil, previous: nil, now: now)
            else {
                return finish(
                    common, status: .credentialRefused,
                    message: "Lever issued no refresh token (offline_access was not granted): nothing was written; "
                        + "run authorize again and accept every permission",
                    requested: requested, granted: answer.scope)
            }
            grant.authorizedAt = now
            // An answer without `scope` says nothing of what was granted: the grant keeps it unknown (check warns).
            try pending.commit(grant)
            lock.markGranted(now: now)
            let missing = grant.scopes.map {
                LeverScopes.missing(granted: $0, confidentialAccess: settings.confidentialAccess)
            }
            if !common.json {
                say("Authorized: the grant is in \(settings.tokenFile) (mode 0600).")
                if let granted = grant.scopes, let missing {
                    say("Granted scopes: " + requested.filter { granted.contains($0) }.joined(separator: " "))
                    let extra = granted.subtracting(requested).sorted()
                    if !extra.isEmpty { say("Also granted (not asked for): " + extra.joined(separator: " ")) }
                    for need in missing { say("Not granted: \(need.scope) — disables \(need.disables)") }
                    if missing.isEmpty { say("Every scope the configuration needs was granted.") }
                } else {
                    say(
                        "Granted scopes: unknown (Lever's answer did not say which scopes it granted); `check` warns "
                            + "about it until a grant says")
                }
            }
            return finish(
                common, status: .ok, message: nil, tokenFile: settings.tokenFile, requested: requested,
                granted: grant.scope, missing: missing, printMessage: false)
        } catch let abort as PassAbort {
            return finish(common, status: abort.status, message: abort.description, requested: requested)
        } catch let unanswered as LeverTokenEndpoint.Unanswered {
            return finish(
                common, status: unanswered.abort.status,
                message: unanswered.abort.description
                    + (unanswered.maybeSent ? "; the code may have been spent: run authorize again" : ""),
                requested: requested)
        } catch {
            return finish(common, status: .temporary, message: "\(error)", requested: requested)
        }
    }

    /// One line of standard input, read on a thread of its own; nil at the end of the input or at `deadline` (the
    /// reading thread is then left blocked: the process ends soon after).
    static func readLine(until deadline: Date) async -> String? {
        let seconds = deadline.timeIntervalSinceNow
        guard seconds > 0 else { return nil }
        let resumed = Locked(false)
        return await withCheckedContinuation { continuation in
            let resume: @Sendable (String?) -> Void = { line in
                let first = resumed.withLock { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: line) }
            }
            let thread = Thread { resume(Swift.readLine(strippingNewline: true)) }
            thread.name = "lhs-stdin"
            thread.start()
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { resume(nil) }
        }
    }

    static func finish(
        _ common: CommonOptions, status: ExitStatus, message: String?, tokenFile: String? = nil,
        requested: [String] = [], granted: String? = "", missing: [LeverScopes.Need]? = [], printMessage: Bool = true
    ) -> ExitStatus {
        if let message, printMessage { Output.error(message) }
        if common.json {
            Output.json(
                AuthorizeReport(
                    exitCode: status.code, message: message, tokenFile: tokenFile, requested: requested,
                    granted: granted.map { Set($0.split(separator: " ").map(String.init)).sorted() },
                    missing: missing?.map { .init(scope: $0.scope, disables: $0.disables) }))
        }
        return status
    }
}
