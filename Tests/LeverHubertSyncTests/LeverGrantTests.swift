import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// Issue 21: the Lever OAuth grant, obtained with `authorize` and never lost. Everything through the built binary
/// against the Lever sandbox's authorization and token endpoints (Auth0's rules: rotation on every refresh, reuse of
/// a rotated refresh token revokes the family), over 127.0.0.1.
@Suite(.serialized) struct LeverGrantTests {
    static let clientId = "client-21"
    static let clientSecret = "client-secret-21-0123456789"
    static let audience = "https://api.lever.co/v1/"

    /// A sandbox with OAuth, a configuration file using it, and the environment of the binary.
    struct Setup {
        let env: TestEnvironment
        let config: String
        let tokenFile: String
        let environment: [String: String]
        let redirectURI: String
        let seed: String?

        var oauth: LeverOAuthSandbox { env.lever.oauth }

        /// A configuration file beside the first, for another process (another database, same token file).
        func otherConfig(database: String) throws -> String {
            let path = env.directory.appendingPathComponent("other-\(UUID().uuidString).yml").path
            let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
                of: "  path: \(env.databasePath)", with: "  path: \(database)")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// Every secret there is: none may appear in an output, a log, the database or an argument.
        func secrets() -> [String] { oauth.issued + [LeverGrantTests.clientSecret] + (seed.map { [$0] } ?? []) }

        func expectNoSecrets(_ texts: [String], _ comment: Comment? = nil) {
            for secret in secrets() {
                for text in texts where text.contains(secret) {
                    Issue.record("a secret leaked: \(comment?.description ?? "") …\(text.suffix(300))")
                }
            }
        }

        /// The database's files, as bytes, contain no secret.
        func expectDatabaseClean() throws {
            for suffix in ["", "-wal"] {
                guard let data = FileManager.default.contents(atPath: env.databasePath + suffix) else { continue }
                let text = String(decoding: data, as: UTF8.self)
                for secret in secrets() { #expect(!text.contains(secret), "a secret is in the database") }
            }
        }

        func run(_ arguments: [String]) async throws -> BinaryRunner.Result {
            #expect(!arguments.contains { argument in secrets().contains { argument.contains($0) } })
            let result = try await BinaryRunner.run(arguments + ["--config", config], environment: environment)
            expectNoSecrets([result.stdout, result.stderr], "\(arguments)")
            return result
        }
    }

    static func setup(
        ttl: Int = 3600, seeded: Bool = true, tokenFileKey: Bool = true, confidential: Bool = false,
        port: UInt16? = nil, authorize: Bool = false, seedScope: String? = nil
    ) async throws -> Setup {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let port = try port ?? LoopbackReceiver(port: 0).port
        let redirect = "http://127.0.0.1:\(port)/callback"
        env.lever.oauth.configure(
            clientId: clientId, clientSecret: clientSecret, redirectURIs: [redirect], audience: audience,
            accessTTLSeconds: ttl)
        let seed = seeded ? "rt-seed-\(UUID().uuidString)" : nil
        if let seed {
            if let seedScope {
                env.lever.oauth.seed(refreshToken: seed, scope: seedScope)
            } else {
                env.lever.oauth.seed(refreshToken: seed)
            }
        }
        let tokenFile = env.directory.appendingPathComponent("grant/lever.token").path
        var block = """
              oauth:
                clientId: \(clientId)
                clientSecret: ${LEVER_CLIENT_SECRET}
                tokenURL: \(env.leverOrigin)/oauth/token
            """
        // Only what the test needs: the pass tests use the keys of the release before `authorize`.
        if authorize {
            block += "\n    authorizeURL: \(env.leverOrigin)/authorize\n    audience: \(audience)"
            block += "\n    redirectURI: \(redirect)"
        }
        if tokenFileKey { block += "\n    tokenFile: \(tokenFile)" }
        if seed != nil { block += "\n    refreshToken: ${LEVER_REFRESH_TOKEN}" }
        if confidential { block += "\n    confidentialAccess: true" }
        let yaml = env.yaml().replacingOccurrences(of: "  apiKey: ${LEVER_API_KEY}", with: block)
        let config = env.directory.appendingPathComponent("lhs.yml").path
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let home = env.directory.appendingPathComponent("home").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        var environment = [
            "HUBERT_API_KEY": TestEnvironment.hubertKey, "LEVER_CLIENT_SECRET": clientSecret, "HOME": home,
        ]
        if let seed { environment["LEVER_REFRESH_TOKEN"] = seed }
        return Setup(
            env: env, config: config, tokenFile: tokenFileKey ? tokenFile : env.databasePath + ".lever-refresh-token",
            environment: environment, redirectURI: redirect, seed: seed)
    }

    /// The browser: GET without following redirects.
    static func get(_ url: String) async throws -> HTTPResponseMessage {
        try await CurlTransport().send(HTTPRequestMessage(method: .get, url: url, freshConnection: true))
    }

    /// Waits until the running binary printed the authorization URL, and returns it.
    static func authorizationURL(in log: URL, origin: String, child: Child) async throws -> String {
        for _ in 0..<1000 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(origin + "/authorize?") }) {
                return String(line)
            }
            if !child.isRunning { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no authorization URL printed: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        throw CancellationError()
    }

    /// Runs `authorize --manual`, plays the browser (Lever's consent answers at once) and pastes the redirect, after
    /// `edit` had its way with it. Returns the exit status and the output.
    static func authorizeManually(_ setup: Setup, edit: (String) -> String = { $0 }) async throws -> (Int32, String) {
        let dir = setup.env.directory
        let fifo = dir.appendingPathComponent("stdin-\(UUID().uuidString)").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let log = dir.appendingPathComponent("authorize-\(UUID().uuidString).log")
        let child = try BinaryRunner.start(
            ["authorize", "--manual", "--config", setup.config], environment: setup.environment, output: log,
            stdin: fifo)
        let url = try await authorizationURL(in: log, origin: setup.env.leverOrigin, child: child)
        let consent = try await get(url)
        #expect(consent.status == 302)
        let location = try #require(consent.header("location"))
        #expect(location.hasPrefix(setup.redirectURI + "?"))
        let writer = open(fifo, O_WRONLY)
        _ = AtomicFile.writeAll(Array((edit(location) + "\n").utf8), to: writer)
        close(writer)
        let status = await child.wait()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        setup.expectNoSecrets([output], "authorize")
        return (status, output)
    }

    /// Runs `body` with `directory` read-only, and makes it writable again however `body` ends. root writes through
    /// mode bits: the immutable attribute (`chattr +i`) makes the directory read-only for it too.
    static func whileReadOnly<T>(_ directory: String, _ body: () async throws -> T) async throws -> T {
        func readOnly(_ on: Bool) async throws {
            if getuid() == 0 {
                let status = try await BinaryRunner.run(
                    [on ? "+i" : "-i", directory], executable: URL(fileURLWithPath: "/usr/bin/chattr")
                ).status
                #expect(status == 0)
            } else {
                #expect(chmod(directory, on ? 0o500 : 0o700) == 0)
            }
        }
        try await readOnly(true)
        let result: T
        do {
            result = try await body()
        } catch {
            try? await readOnly(false)
            throw error
        }
        try await readOnly(false)
        return result
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    // MARK: authorize

    @Test func authorizeManualGoesFromTheURLToTheTokenFile() async throws {
        let setup = try await Self.setup(seeded: false, authorize: true)
        let (status, output) = try await Self.authorizeManually(setup)
        #expect(status == 0, "\(output)")
        let query = try #require(setup.oauth.authorizeQueries.last)
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        #expect(value("client_id") == Self.clientId)
        #expect(value("redirect_uri") == setup.redirectURI)
        #expect(value("response_type") == "code")
        #expect(value("audience") == Self.audience)
        #expect(value("prompt") == "consent")
        #expect((value("state") ?? "").count == 32)
        let asked = (value("scope") ?? "").split(separator: " ").map(String.init)
        #expect(
            asked == [
                "postings:read:admin", "opportunities:read:admin", "opportunities:write:admin", "notes:read:admin",
                "notes:write:admin", "stages:read:admin", "tags:read:admin", "users:read:admin",
                "applications:read:admin", "archive_reasons:read:admin", "offline_access",
            ], "exactly the scopes needed, nothing else (no confidential access unless configured)")
        #expect(output.contains("Every scope the configuration needs was granted."), "\(output)")
        #expect(try Self.mode(setup.tokenFile) == 0o600)
        let grant = try #require(try TokenFile.read(setup.tokenFile))
        #expect(grant.refreshToken == setup.oauth.currentRefreshToken)
        #expect(grant.scopes == Set(asked))
        #expect(grant.authorizedAt != nil)
        #expect(setup.oauth.exchanges == 1)

        // The grant works, and the access token from the authorization is used: no refresh.
        let run = try await setup.run(["run", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(setup.oauth.refreshes == 0)
        try setup.expectDatabaseClean()
    }

    @Test func anAuthorizationAnswerWithoutScopesLeavesThemUnknown() async throws {
        let setup = try await Self.setup(seeded: false, authorize: true)
        setup.oauth.addTokenFaults([.noScope])
        let (status, output) = try await Self.authorizeManually(setup)
        #expect(status == 0, "\(output)")
        #expect(output.contains("Granted scopes: unknown"), "\(output)")
        #expect(!output.contains("Every scope the configuration needs was granted."), "\(output)")
        let grant = try #require(try TokenFile.read(setup.tokenFile))
        #expect(grant.scope == nil, "no scope is claimed that Lever did not say it granted")
        #expect(grant.refreshToken == setup.oauth.currentRefreshToken)
        let check = try await setup.run(["check"])
        #expect(check.stdout.contains("[warn] lever OAuth scopes: not known"), "\(check.stdout)")
    }

    /// Starts `authorize` over the loopback listener. The port is chosen before the binary can listen on it (it
    /// is in the configuration); should another process take it meanwhile, the whole setup is tried again.
    static func startLoopbackAuthorize(confidential: Bool) async throws -> (Setup, Child, URL, String) {
        for attempt in 0..<5 {
            let setup = try await Self.setup(seeded: false, confidential: confidential, authorize: true)
            let log = setup.env.directory.appendingPathComponent("authorize.log")
            let child = try BinaryRunner.start(
                ["authorize", "--config", setup.config], environment: setup.environment, output: log)
            for _ in 0..<1000 {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if text.contains("Waiting for the redirect") || !child.isRunning { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if !child.isRunning, text.contains("cannot listen on 127.0.0.1"), attempt < 4 { continue }
            let url = try await Self.authorizationURL(in: log, origin: setup.env.leverOrigin, child: child)
            return (setup, child, log, url)
        }
        throw CancellationError()
    }

    /// The browser follows a redirect to the tool's listener.
    static func follow(_ location: String) async throws -> HTTPResponseMessage? {
        for _ in 0..<100 {
            if let page = try? await Self.get(location) { return page }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test func authorizeOverTheLoopbackListenerReportsScopesNotGranted() async throws {
        let (setup, child, log, url) = try await Self.startLoopbackAuthorize(confidential: true)
        let needed = LeverScopes.needed(confidentialAccess: true).map(\.scope)
        setup.oauth.setGrantedScopes(needed.filter { $0 != "notes:write:admin" })
        #expect(url.contains("confidential%3Aaccess%3Aadmin"), "confidential access asked for only when configured")
        let consent = try await Self.get(url)
        let location = try #require(consent.header("location"))
        // A redirect of another authorization first (an old tab): refused, and the listener waits on.
        let foreign = try await Self.follow(location.replacingOccurrences(of: "state=", with: "state=old"))
        #expect(foreign?.status == 400)
        let foreignPage = String(decoding: foreign?.body ?? Data(), as: UTF8.self)
        #expect(foreignPage.contains("Still waiting"), "\(foreignPage)")
        #expect(child.isRunning, "a foreign redirect does not end the wait")
        let page = try await Self.follow(location)
        #expect(page?.status == 200)
        let shown = String(decoding: page?.body ?? Data(), as: UTF8.self)
        #expect(shown.contains("Lever access received"))
        let status = await child.wait()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        setup.expectNoSecrets([output])
        #expect(status == 0, "\(output)")
        #expect(output.contains("Not granted: notes:write:admin — disables result notes"), "\(output)")
        #expect(try TokenFile.read(setup.tokenFile)?.refreshToken == setup.oauth.currentRefreshToken)

        // check says what the grant lacks, and how long the refresh token has been unused.
        let check = try await setup.run(["check"])
        #expect(check.status == 77, "\(check.stdout)")
        #expect(
            check.stdout.contains("[FAIL] lever OAuth scopes: notes:write:admin was not granted"), "\(check.stdout)")
        #expect(check.stdout.contains("[ok]   lever OAuth refresh token: refresh token last used 0 days ago"))
        let json = try await setup.run(["check", "--json"])
        #expect(json.json?["exitCode"] as? Int == 77)
    }

    @Test func aRedirectWithAnotherStateIsRefusedAndTheRightOneStillAccepted() async throws {
        let setup = try await Self.setup(seeded: false, authorize: true)
        let dir = setup.env.directory
        let fifo = dir.appendingPathComponent("stdin-forged").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let log = dir.appendingPathComponent("authorize-forged.log")
        let child = try BinaryRunner.start(
            ["authorize", "--manual", "--config", setup.config], environment: setup.environment, output: log,
            stdin: fifo)
        let url = try await Self.authorizationURL(in: log, origin: setup.env.leverOrigin, child: child)
        let location = try #require(try await Self.get(url).header("location"))
        let writer = open(fifo, O_WRONLY)
        defer { close(writer) }
        _ = AtomicFile.writeAll(
            Array((location.replacingOccurrences(of: "state=", with: "state=forged") + "\n").utf8), to: writer)
        for _ in 0..<500 {
            if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("state does not match") { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let refused = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(refused.contains("state does not match"), "\(refused)")
        #expect(child.isRunning, "a foreign redirect does not end the wait")
        #expect(setup.oauth.exchanges == 0, "its code is not exchanged")
        #expect(!FileManager.default.fileExists(atPath: setup.tokenFile))
        _ = AtomicFile.writeAll(Array((location + "\n").utf8), to: writer)
        let status = await child.wait()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        setup.expectNoSecrets([output])
        #expect(status == 0, "\(output)")
        #expect(setup.oauth.exchanges == 1)
        #expect(try TokenFile.read(setup.tokenFile)?.refreshToken == setup.oauth.currentRefreshToken)
    }

    @Test func aForeignRedirectAloneEndsWithTheTimeoutAnd77() async throws {
        let setup = try await Self.setup(seeded: false, authorize: true)
        let dir = setup.env.directory
        let fifo = dir.appendingPathComponent("stdin-timeout").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let log = dir.appendingPathComponent("authorize-timeout.log")
        let child = try BinaryRunner.start(
            ["authorize", "--manual", "--wait-seconds", "3", "--config", setup.config],
            environment: setup.environment, output: log, stdin: fifo)
        let url = try await Self.authorizationURL(in: log, origin: setup.env.leverOrigin, child: child)
        let location = try #require(try await Self.get(url).header("location"))
        let writer = open(fifo, O_WRONLY)
        defer { close(writer) }
        _ = AtomicFile.writeAll(
            Array((location.replacingOccurrences(of: "state=", with: "state=forged") + "\n").utf8), to: writer)
        let status = await child.wait()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 77, "\(output)")
        #expect(output.contains("authorization refused: the redirect's state does not match"), "\(output)")
        #expect(setup.oauth.exchanges == 0)
    }

    // MARK: the grant across passes

    @Test func twentyPassesWithinAnHourMakeOneRefresh() async throws {
        let setup = try await Self.setup()
        for index in 0..<20 {
            let result = try await setup.run(["run"])
            #expect(result.status == 0, "pass \(index): \(result.stderr)")
        }
        #expect(setup.oauth.refreshes == 1)
        #expect(setup.oauth.reuses == 0)
        let grant = try #require(try TokenFile.read(setup.tokenFile))
        #expect(grant.refreshToken == setup.oauth.currentRefreshToken)
        #expect(grant.accessToken != nil && grant.accessTokenExpiresAt != nil)
        #expect(try Self.mode(setup.tokenFile) == 0o600)
        try setup.expectDatabaseClean()
        let status = try await setup.run(["status", "--json"])
        setup.expectNoSecrets([status.stdout])
    }

    @Test func aSIGTERMDuringASlowRefreshKeepsTheRotatedToken() async throws {
        let setup = try await Self.setup()
        setup.oauth.setTokenDelay(ms: 2_500)
        let log = setup.env.directory.appendingPathComponent("term.log")
        let child = try BinaryRunner.start(
            ["run", "--config", setup.config], environment: setup.environment, output: log)
        // Lever has the refresh request (and has rotated); its answer is on its way.
        for _ in 0..<500 where setup.oauth.presented.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(setup.oauth.refreshes == 1)
        try await Task.sleep(for: .milliseconds(300))
        child.terminate()
        let started = Date()
        let status = await child.wait()
        #expect(status == 75, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        #expect(Date().timeIntervalSince(started) < 10)
        setup.oauth.setTokenDelay(ms: 0)
        #expect(try TokenFile.read(setup.tokenFile)?.refreshToken == setup.oauth.currentRefreshToken)
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(setup.oauth.reuses == 0)
        setup.expectNoSecrets([(try? String(contentsOf: log, encoding: .utf8)) ?? ""])
    }

    @Test func checkWithAnotherDatabaseBetweenTwoPassesSpendsNothing() async throws {
        // The default token file, derived from the database path: the case the issue names.
        let setup = try await Self.setup(tokenFileKey: false)
        #expect(try await setup.run(["run"]).status == 0)
        let other = setup.env.directory.appendingPathComponent("other.sqlite3").path
        let check = try await setup.run(["check", "--database", other])
        #expect(check.status == 77, "\(check.stdout)")
        #expect(check.stdout.contains("already exchanged"), "\(check.stdout)")
        #expect(check.stdout.contains(setup.tokenFile), "it names where the grant is: \(check.stdout)")
        #expect(setup.oauth.presented.count == 1, "the configured refresh token is not presented again")
        setup.oauth.expireAccessTokens()  // the next pass must refresh, with the grant intact
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(setup.oauth.reuses == 0)
        #expect(setup.oauth.refreshes == 2)
    }

    @Test func aMissingTokenFileAfterAGrantIsNeverReplacedByTheConfiguredToken() async throws {
        let setup = try await Self.setup()
        #expect(try await setup.run(["run"]).status == 0)
        try FileManager.default.removeItem(atPath: setup.tokenFile)
        let result = try await setup.run(["run"])
        #expect(result.status == 77)
        #expect(result.stderr.contains("is missing, but a grant was stored there before"), "\(result.stderr)")
        #expect(setup.oauth.presented.count == 1)
        #expect(setup.oauth.reuses == 0)
    }

    @Test func twoProcessesSharingATokenFileNeverPresentTheSameRefreshTokenTwice() async throws {
        let setup = try await Self.setup(ttl: 2)
        let second = try setup.otherConfig(
            database: setup.env.directory.appendingPathComponent("second.sqlite3").path)
        for round in 0..<4 {
            setup.oauth.expireAccessTokens()
            async let a = BinaryRunner.run(["run", "--config", setup.config], environment: setup.environment)
            async let b = BinaryRunner.run(["run", "--config", second], environment: setup.environment)
            let (first, other) = try await (a, b)
            #expect(first.status == 0, "round \(round): \(first.stderr)")
            #expect(other.status == 0, "round \(round): \(other.stderr)")
            setup.expectNoSecrets([first.stdout, first.stderr, other.stdout, other.stderr])
        }
        let presented = setup.oauth.presented
        #expect(Set(presented).count == presented.count, "a refresh token was presented twice")
        #expect(setup.oauth.reuses == 0)
        #expect(setup.oauth.hasLiveGrant)
        #expect(presented.count >= 4)
    }

    @Test func aReadOnlyTokenDirectoryGives77NamingTheFileAndTheGrantSurvives() async throws {
        let setup = try await Self.setup()
        #expect(try await setup.run(["run"]).status == 0)
        let directory = URL(fileURLWithPath: setup.tokenFile).deletingLastPathComponent().path
        setup.oauth.expireAccessTokens()
        let refused = try await Self.whileReadOnly(directory) { try await setup.run(["run", "--json"]) }
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(refused.stderr.contains(setup.tokenFile), "\(refused.stderr)")
        let message = refused.json?["message"] as? String ?? ""
        #expect(message.contains(setup.tokenFile), "\(refused.stdout)")
        #expect(setup.oauth.refreshes == 1, "nothing refreshed that could not be kept")
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(setup.oauth.reuses == 0)
        #expect(try TokenFile.read(setup.tokenFile)?.refreshToken == setup.oauth.currentRefreshToken)
    }

    @Test func aRevokedGrantExits77NamingTheCause() async throws {
        let setup = try await Self.setup(authorize: true)
        #expect(try await setup.run(["run"]).status == 0)
        setup.oauth.revokeAll()
        let result = try await setup.run(["run"])
        #expect(result.status == 77)
        #expect(result.stderr.contains("revoked"), "\(result.stderr)")
        #expect(result.stderr.contains("authorize"), "\(result.stderr)")
        // Once: later passes say the same without presenting the dead refresh token again.
        let presented = setup.oauth.presented.count
        let again = try await setup.run(["run"])
        #expect(again.status == 77)
        #expect(again.stderr.contains("revoked") && again.stderr.contains("recorded"), "\(again.stderr)")
        #expect(setup.oauth.presented.count == presented)
        let check = try await setup.run(["check"])
        #expect(check.status == 77)
        #expect(check.stdout.contains("[FAIL] lever OAuth grant: Lever refused the refresh token"), "\(check.stdout)")
        // A new authorization makes it work again.
        let (status, output) = try await Self.authorizeManually(setup)
        #expect(status == 0, "\(output)")
        #expect(try await setup.run(["run"]).status == 0)
    }

    // MARK: review: the configured refresh token, presented once

    @Test func withoutAPlaceToRecordItTheConfiguredTokenIsNotPresented() async throws {
        let setup = try await Self.setup()
        var noHome = setup.environment
        noHome["HOME"] = nil
        let result = try await BinaryRunner.run(["run", "--config", setup.config], environment: noHome)
        setup.expectNoSecrets([result.stdout, result.stderr])
        #expect(result.status == 77, "\(result.stderr)")
        #expect(result.stderr.contains("not presented") && result.stderr.contains("HOME"), "\(result.stderr)")
        #expect(setup.oauth.presented.isEmpty, "the token was not presented")
        // A read-only state directory is the same.
        let home = try #require(setup.environment["HOME"])
        try FileManager.default.createDirectory(atPath: home + "/.local", withIntermediateDirectories: true)
        try "not a directory".write(toFile: home + "/.local/state", atomically: true, encoding: .utf8)
        let blocked = try await setup.run(["run"])
        #expect(blocked.status == 77, "\(blocked.stderr)")
        #expect(setup.oauth.presented.isEmpty)
        try FileManager.default.removeItem(atPath: home + "/.local/state")
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(setup.oauth.presented.count == 1)
    }

    /// Points the configuration's `tokenURL` at another origin (a proxy in front of the sandbox), or back.
    static func tokenURL(_ setup: Setup, from: String, to origin: String) throws {
        let text = try String(contentsOfFile: setup.config, encoding: .utf8)
        #expect(text.contains("tokenURL: \(from)/oauth/token"))
        try text.replacingOccurrences(of: "tokenURL: \(from)/oauth/token", with: "tokenURL: \(origin)/oauth/token")
            .write(toFile: setup.config, atomically: true, encoding: .utf8)
    }

    @Test func aRefreshWhoseAnswerIsLostNeverPresentsTheConfiguredTokenAgain() async throws {
        let setup = try await Self.setup()
        // Lever rotates, then the connection drops before one byte of its answer (maybe sent).
        let proxy = try KeepAliveProxy(
            upstreamPort: await setup.env.leverServer.port,
            rule: { $0.path == "/oauth/token" ? .beforeResponse : nil })
        defer { proxy.stop() }
        try Self.tokenURL(setup, from: setup.env.leverOrigin, to: proxy.origin)
        let lost = try await setup.run(["run"])
        #expect(lost.status == 75, "\(lost.stderr)")
        #expect(lost.stderr.contains("may have been spent"), "\(lost.stderr)")
        #expect(lost.stderr.contains("run `lever-hubert-sync authorize`"), "\(lost.stderr)")
        #expect(proxy.log.contains { $0.path == "/oauth/token" && $0.dropped == .beforeResponse })
        #expect(setup.oauth.refreshes == 1, "Lever rotated")
        #expect(setup.oauth.presented == [setup.seed].compactMap { $0 })
        // The next pass does not present the configured token a second time (Auth0 would revoke the grant).
        try Self.tokenURL(setup, from: proxy.origin, to: setup.env.leverOrigin)
        let next = try await setup.run(["run"])
        #expect(next.status == 77, "\(next.stderr)")
        #expect(next.stderr.contains("authorize"), "\(next.stderr)")
        #expect(setup.oauth.presented.count == 1, "the configured refresh token is presented once")
        #expect(setup.oauth.reuses == 0)
        #expect(setup.oauth.hasLiveGrant)
    }

    @Test func aRefreshThatWasNeverSentLetsTheNextPassPresentTheConfiguredToken() async throws {
        let setup = try await Self.setup()
        // A port nobody listens on any more: the connection is refused, nothing is sent.
        let gone = try KeepAliveProxy(upstreamPort: await setup.env.leverServer.port, rule: { _ in nil })
        gone.stop()
        try Self.tokenURL(setup, from: setup.env.leverOrigin, to: gone.origin)
        let unsent = try await setup.run(["run"])
        #expect(unsent.status == 75, "\(unsent.stderr)")
        #expect(setup.oauth.presented.isEmpty)
        try Self.tokenURL(setup, from: gone.origin, to: setup.env.leverOrigin)
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "nothing was sent, so the configured token is still good: \(next.stderr)")
        #expect(setup.oauth.presented.count == 1)
        #expect(setup.oauth.reuses == 0)
    }

    @Test func checkWithAnotherDatabaseDuringTheFirstRunSpendsNothing() async throws {
        let setup = try await Self.setup(tokenFileKey: false)
        setup.oauth.setTokenDelay(ms: 1_500)
        let log = setup.env.directory.appendingPathComponent("first.log")
        let first = try BinaryRunner.start(
            ["run", "--config", setup.config], environment: setup.environment, output: log)
        for _ in 0..<500 where setup.oauth.presented.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(setup.oauth.presented.count == 1)
        let other = setup.env.directory.appendingPathComponent("other.sqlite3").path
        let check = try await setup.run(["check", "--database", other])
        #expect(check.status == 77, "\(check.stdout)")
        #expect(check.stdout.contains("already exchanged"), "\(check.stdout)")
        #expect(await first.wait() == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        setup.oauth.setTokenDelay(ms: 0)
        #expect(setup.oauth.presented.count == 1, "the configured refresh token is presented once")
        setup.oauth.expireAccessTokens()
        #expect(try await setup.run(["run"]).status == 0)
        #expect(setup.oauth.reuses == 0)
    }

    @Test func theDefaultTokenFileFollowsTheDatabaseThroughASymlink() async throws {
        let setup = try await Self.setup(tokenFileKey: false)
        #expect(try await setup.run(["run"]).status == 0)
        let linked = setup.env.directory.appendingPathComponent("link.sqlite3").path
        try FileManager.default.createSymbolicLink(atPath: linked, withDestinationPath: setup.env.databasePath)
        setup.oauth.expireAccessTokens()
        let result = try await setup.run(["run", "--database", linked])
        #expect(result.status == 0, "one token file for one database: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: linked + ".lever-refresh-token"))
        #expect(try TokenFile.read(setup.tokenFile)?.refreshToken == setup.oauth.currentRefreshToken)
        #expect(setup.oauth.reuses == 0)
    }

    // MARK: review: only invalid_grant kills the grant

    @Test func aRefusalOtherThanInvalidGrantLeavesTheGrantAlone() async throws {
        let setup = try await Self.setup()
        #expect(try await setup.run(["run"]).status == 0)
        for (status, code) in [(400, "invalid_request"), (403, "access_denied"), (401, "")] {
            setup.oauth.expireAccessTokens()
            setup.oauth.addTokenFaults([.refuse(status: status, error: code)])
            let refused = try await setup.run(["run"])
            #expect(refused.status == 75, "\(status) \(code): \(refused.stderr)")
            #expect(try TokenFile.read(setup.tokenFile)?.refusedAt == nil, "the grant is not recorded dead")
        }
        // A wrong client secret is the configuration's fault: 77 naming it, and the grant is untouched.
        var wrong = setup.environment
        wrong["LEVER_CLIENT_SECRET"] = "not-the-secret"
        let client = try await BinaryRunner.run(["run", "--config", setup.config], environment: wrong)
        #expect(client.status == 77, "\(client.stderr)")
        #expect(client.stderr.contains("lever.oauth.clientSecret"), "\(client.stderr)")
        #expect(try TokenFile.read(setup.tokenFile)?.refusedAt == nil)
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(setup.oauth.reuses == 0)
    }

    @Test func aRefusalOfTheConfiguredTokenOtherThanInvalidGrantLetsTheNextPassPresentIt() async throws {
        let setup = try await Self.setup()
        setup.oauth.addTokenFaults([.refuse(status: 400, error: "invalid_request")])
        let refused = try await setup.run(["run"])
        #expect(refused.status == 75, "\(refused.stderr)")
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "nothing was exchanged, so the configured token is still good: \(next.stderr)")
        #expect(setup.oauth.refreshes == 1)
    }

    @Test func anAnswerWithoutAnAccessTokenKeepsTheRotatedRefreshToken() async throws {
        let setup = try await Self.setup()
        setup.oauth.addTokenFaults([.noAccessToken])
        let first = try await setup.run(["run"])
        #expect(first.status == 75, "\(first.stderr)")
        #expect(try TokenFile.read(setup.tokenFile)?.refreshToken == setup.oauth.currentRefreshToken)
        let next = try await setup.run(["run"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(setup.oauth.reuses == 0)
        #expect(setup.oauth.refreshes == 2)
    }

    // MARK: review: a grant that cannot be saved

    @Test func aGrantThatCannotBeSavedAfterTheRotationEndsThePassWith77NamingTheFile() async throws {
        let setup = try await Self.setup()
        #expect(try await setup.run(["run"]).status == 0)
        let directory = URL(fileURLWithPath: setup.tokenFile).deletingLastPathComponent().path
        setup.oauth.expireAccessTokens()
        setup.oauth.setTokenDelay(ms: 1_000)
        let log = setup.env.directory.appendingPathComponent("unsaved.log")
        let child = try BinaryRunner.start(
            ["run", "--json", "--config", setup.config], environment: setup.environment, output: log)
        // The temporary file exists and Lever is rotating: the directory turns read-only before the answer.
        for _ in 0..<500 where setup.oauth.presented.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        let status = try await Self.whileReadOnly(directory) { await child.wait() }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        setup.expectNoSecrets([output])
        #expect(setup.oauth.refreshes == 2)
        #expect(status == 77, "\(output)")
        #expect(output.contains("THE LEVER OAUTH GRANT COULD NOT BE SAVED"), "\(output)")
        #expect(output.contains("could not be written to the token file \(setup.tokenFile)"), "\(output)")
    }

    // MARK: review: a late 401 forces no second rotation

    @Test func aLate401ForAnOlderAccessTokenDoesNotRefreshAgain() async throws {
        let setup = try await Self.setup()
        let settings = try #require(
            try ConfigLoader.load(path: setup.config, databaseOverride: nil, environment: setup.environment).config
                .lever.oauth)
        let oauth = LeverOAuth(settings: settings, transport: CurlTransport())
        let first = try await oauth.authorization()
        #expect(setup.oauth.refreshes == 1)
        // The first token is refused (401): one refresh.
        #expect(await oauth.invalidate(rejected: first))
        let second = try await oauth.authorization()
        #expect(second != first)
        #expect(setup.oauth.refreshes == 2)
        // A request sent with the first token before the refresh is answered 401 late: the second one stays.
        #expect(await oauth.invalidate(rejected: first))
        #expect(try await oauth.authorization() == second)
        #expect(setup.oauth.refreshes == 2, "no rotation for a token already replaced")
    }

    // MARK: review: check and a dry run need no run lock

    @Test func checkAndADryRunWorkInAReadOnlyDatabaseDirectory() async throws {
        let all = LeverScopes.needed(confidentialAccess: false).map(\.scope).joined(separator: " ")
        let setup = try await Self.setup(seedScope: all)
        #expect(try await setup.run(["run"]).status == 0)
        let directory = setup.env.directory.path
        try? FileManager.default.removeItem(atPath: RunLock.lockPath(setup.env.databasePath))
        let (check, dry) = try await Self.whileReadOnly(directory) {
            (try await setup.run(["check"]), try await setup.run(["run", "--dry-run"]))
        }
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        // Where a run lock could be created, neither takes one.
        #expect(try await setup.run(["check"]).status == 0)
        #expect(try await setup.run(["run", "--dry-run"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: RunLock.lockPath(setup.env.databasePath)))
    }
}
