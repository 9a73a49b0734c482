import Foundation
import Testing

@testable import LeverHubertSync

/// The configuration surface through the built binary: what an operator or CI sees on stdout, stderr and the exit
/// status.
@Suite struct ConfigCLITests {
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-cfgcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ yaml: String, in directory: URL, name: String = "c.yml") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Asserts `json` has the shape of a finished pass's report.
    static func expectPassShape(
        _ json: [String: Any]?, exitCode: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(json?["runId"] is String, sourceLocation: sourceLocation)
        #expect(json?["exitCode"] as? Int == exitCode, sourceLocation: sourceLocation)
        #expect(json?["message"] is String, sourceLocation: sourceLocation)
        #expect(json?["dryRun"] is Bool, sourceLocation: sourceLocation)
        #expect((json?["actions"] as? [Any])?.isEmpty == true, sourceLocation: sourceLocation)
        #expect((json?["problems"] as? [Any])?.isEmpty == true, sourceLocation: sourceLocation)
        #expect((json?["counts"] as? [String: Any])?["invitationsSent"] as? Int == 0, sourceLocation: sourceLocation)
    }

    @Test func aYAMLSyntaxErrorExits78WithLineAndColumnAndNeverTheSecretOnThatLine() async throws {
        let dir = try Self.directory()
        let config = try Self.write(
            "lever:\n  performAs: bot@example.com\n  apiKey: sk-FAKE-0b7e4c2d: [oops\n", in: dir)
        for args in [
            ["run", "--config", config], ["run", "--config", config, "--json"], ["check", "--config", config],
            ["check", "--offline", "--config", config, "--json"], ["status", "--config", config],
        ] {
            let result = try await BinaryRunner.run(args)
            #expect(result.status == 78, "\(args)")
            #expect(
                (result.stderr + result.stdout).contains("YAML syntax error at line 3, column "),
                "\(args): \(result.stderr)")
            #expect(!(result.stderr + result.stdout).contains("sk-FAKE-0b7e4c2d"), "\(args) echoed the line")
        }
        let json = try await BinaryRunner.run(["run", "--config", config, "--json"])
        Self.expectPassShape(json.json, exitCode: 78)
    }

    @Test func anUnknownKeyExits78NamingItAndTheNearestKnownKey() async throws {
        let dir = try Self.directory()
        let config = try Self.write(
            "hubert:\n  apiKey: h\nlever:\n  apiKey: l\nsync:\n  newApplicantStag: New\n", in: dir)
        let result = try await BinaryRunner.run(["run", "--config", config])
        #expect(result.status == 78)
        #expect(
            result.stderr.contains("sync.newApplicantStag: unknown key; did you mean newApplicantStage?"),
            "\(result.stderr)")
        let offline = try await BinaryRunner.run(["check", "--offline", "--config", config])
        #expect(offline.status == 78)
        #expect(offline.stdout.contains("sync.newApplicantStag: unknown key"))
    }

    @Test func checkOfflineMakesNoRequestAndAcceptsUnsetVariablesAsWarnings() async throws {
        let listener = try SilentListener()
        let dir = try Self.directory()
        let yaml = """
            lever:
              baseURL: http://127.0.0.1:\(listener.port)
              apiKey: ${LEVER_API_KEY}
              performAs: ${LHS_TEST_PERFORM_AS}
            hubert:
              baseURL: http://127.0.0.1:\(listener.port)
              apiKey: ${HUBERT_API_KEY}
            healthcheck:
              url: https://hc-ping.com/3f9a1c2e-secret-uuid
            database:
              path: \(dir.appendingPathComponent("db.sqlite3").path)
            """
        let config = try Self.write(yaml, in: dir)
        let text = try await BinaryRunner.run(["check", "--offline", "--config", config])
        #expect(text.status == 0, "\(text.stdout)\(text.stderr)")
        #expect(
            text.stdout.contains(
                "[warn] configuration warning: lever.apiKey: environment variable LEVER_API_KEY is not set"))
        #expect(!text.stdout.contains("[ok]   configuration warning"))

        let secrets = ["HUBERT_API_KEY": "hubert-secret-9d8c7b"]
        let json = try await BinaryRunner.run(
            ["check", "--offline", "--json", "--config", config], environment: secrets)
        #expect(json.status == 0)
        let configuration = try #require(json.json?["configuration"] as? [String: Any], "\(json.stdout)")
        let lever = try #require(configuration["lever"] as? [String: Any])
        let hubert = try #require(configuration["hubert"] as? [String: Any])
        #expect(lever["baseURL"] as? String == "http://127.0.0.1:\(listener.port)/v1")
        #expect(lever["apiKey"] as? String == "<redacted>")
        #expect(hubert["apiKey"] as? String == "<redacted>")
        #expect((configuration["healthcheck"] as? [String: Any])?["url"] as? String == "<redacted>")
        #expect(!json.stdout.contains("hubert-secret-9d8c7b") && !json.stdout.contains("secret-uuid"))
        #expect(!listener.waitForConnection(seconds: 0), "check --offline sent a request")
    }

    @Test func checkOfflineStillRefusesABadURLAMissingKeyFileAndNoKeySourceAtAll() async throws {
        let dir = try Self.directory()
        let badURL = try Self.write(
            "lever:\n  apiKey: x\n  baseURL: http://lever.example.com/v1\nhubert:\n  apiKey: y\n", in: dir)
        let url = try await BinaryRunner.run(["check", "--offline", "--config", badURL])
        #expect(url.status == 78)
        #expect(url.stdout.contains("lever.baseURL"))
        let keyFile = try Self.write(
            "lever:\n  apiKeyFile: \(dir.path)/missing\nhubert:\n  apiKey: y\n", in: dir, name: "k.yml")
        #expect(try await BinaryRunner.run(["check", "--offline", "--config", keyFile]).status == 78)
        let none = try Self.write("hubert:\n  apiKey: y\n", in: dir, name: "n.yml")
        let noKey = try await BinaryRunner.run(["check", "--offline", "--config", none])
        #expect(noKey.status == 78)
        #expect(noKey.stdout.contains("lever.apiKey is missing"))
    }

    @Test func aLeverBaseURLWithoutV1WorksAndAnotherPathExits78() async throws {
        let env = try await TestEnvironment()
        let plain = env.directory.appendingPathComponent("plain.yml").path
        try env.yaml().replacingOccurrences(of: "\(env.leverOrigin)/v1", with: env.leverOrigin)
            .write(toFile: plain, atomically: true, encoding: .utf8)
        let ok = try await BinaryRunner.run(["run", "--config", plain], environment: env.environment)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let v2 = try await BinaryRunner.run(
            ["run", "--config", plain],
            environment: env.environment.merging(["LEVER_BASE_URL": env.leverOrigin + "/v2"]) { $1 })
        #expect(v2.status == 78)
        #expect(v2.stderr.contains("lever.baseURL"))
    }

    @Test func anUnknownPerformAsUserFailsCheckWith78WithoutPrintingTheAddress() async throws {
        let env = try await TestEnvironment()
        let config = env.directory.appendingPathComponent("p.yml").path
        try env.yaml().replacingOccurrences(of: "sync-bot@example.com", with: "gone-person@example.com")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await BinaryRunner.run(["check", "--config", config], environment: env.environment)
        #expect(result.status == 78)
        #expect(
            result.stdout.contains("[FAIL] lever users / perform-as user: configuration: lever.performAs"),
            "\(result.stdout)")
        #expect(!result.stdout.contains("gone-person"))
    }

    @Test func checkShowsAWarningAsWarnNotOk() async throws {
        let env = try await TestEnvironment()
        let keyFile = env.directory.appendingPathComponent("hubert.key").path
        try TestEnvironment.hubertKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o644)
        let config = env.directory.appendingPathComponent("w.yml").path
        try env.yaml().replacingOccurrences(of: "apiKey: ${HUBERT_API_KEY}", with: "apiKeyFile: \(keyFile)")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await BinaryRunner.run(
            ["check", "--config", config], environment: ["LEVER_API_KEY": TestEnvironment.leverKey])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("[warn] configuration warning: hubert.apiKeyFile"), "\(result.stdout)")
        #expect(result.stdout.contains("All checks passed, with warnings."))
    }

    @Test func checkWithOAuthWaitsForTheTokenFileLockNotForTheRunLock() async throws {
        let listener = try SilentListener()
        let dir = try Self.directory()
        let database = dir.appendingPathComponent("db.sqlite3").path
        let yaml = """
            lever:
              baseURL: http://127.0.0.1:\(listener.port)/v1
              oauth:
                clientId: c
                clientSecret: s
                refreshToken: rt-must-not-be-spent
                tokenURL: http://127.0.0.1:\(listener.port)/oauth/token
            hubert:
              baseURL: http://127.0.0.1:\(listener.port)
              apiKey: h
            sync:
              requestTimeoutMs: 1000
              retry:
                maxAttempts: 1
            database:
              path: \(database)
            """
        let config = try Self.write(yaml, in: dir)
        let home = dir.appendingPathComponent("home").path
        // A pass holds the run lock and is refreshing (it holds the token file's lock): check does not refresh.
        let runLock = try RunLock(databasePath: database)
        let tokenLock = try await TokenFile.lock(RunLock.canonical(database) + ".lever-refresh-token")
        let check = try BinaryRunner.start(
            ["check", "--config", config], environment: ["HOME": home],
            output: dir.appendingPathComponent("check.out"))
        defer { if check.isRunning { check.terminate() } }
        #expect(!listener.waitForConnection(seconds: 2), "check refreshed while another process held the token lock")
        // The refresh is over: check goes on, though the pass still holds the run lock (it needs none).
        tokenLock.release()
        #expect(listener.waitForConnection(seconds: 10), "check waits for the token file's lock only")
        withExtendedLifetime(runLock) {}
    }

    @Test func aHeldLockOrABadConfigurationPrintsThePassShapeWithJSON() async throws {
        let env = try await TestEnvironment()
        let config = env.directory.appendingPathComponent("l.yml").path
        try env.yaml().write(toFile: config, atomically: true, encoding: .utf8)
        let lock = try RunLock(databasePath: env.databasePath)
        let locked = try await BinaryRunner.run(["run", "--config", config, "--json"], environment: env.environment)
        withExtendedLifetime(lock) {}
        #expect(locked.status == 75)
        Self.expectPassShape(locked.json, exitCode: 75)
        let missing = try await BinaryRunner.run([
            "run", "--config", env.directory.appendingPathComponent("none.yml").path, "--json",
        ])
        #expect(missing.status == 78)
        Self.expectPassShape(missing.json, exitCode: 78)
    }
}
