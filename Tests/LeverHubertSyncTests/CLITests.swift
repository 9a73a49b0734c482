import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// The release surface of docs/cli.md, driven through the built binary.
@Suite struct CLITests {
    func writeConfig(_ env: TestEnvironment, _ text: String? = nil) throws -> String {
        let path = env.directory.appendingPathComponent("lever-hubert-sync.yml").path
        try (text ?? env.yaml(autoMove: "autoMove:\n  lead: Phone screen")).write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func runJsonHasTheDocumentedShapeAndExitZero() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        let first = try await BinaryRunner.run(["run", "--config", config, "--json"], environment: env.environment)
        #expect(first.status == 0, "\(first.stderr)")
        await tick()
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        let result = try await BinaryRunner.run(["run", "--config", config, "--json"], environment: env.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json, "stdout must be one JSON object: \(result.stdout)")
        #expect(json["runId"] is String)
        #expect(json["dryRun"] as? Bool == false)
        let counts = try #require(json["counts"] as? [String: Any])
        for key in [
            "postingsScanned", "opportunitiesScanned", "invitationsSent", "resultsApplied", "tagsAdded", "tagsRemoved",
            "notesAdded", "linksAdded", "stageMoves", "skipped", "failed",
        ] {
            #expect(counts[key] is Int, "counts.\(key)")
        }
        #expect(counts["invitationsSent"] as? Int == 1)
        let actions = try #require(json["actions"] as? [[String: Any]])
        #expect(actions.count == 1)
        #expect(actions.first?["type"] as? String == "invite")
        #expect(actions.first?["opportunityId"] as? String == ada)
        #expect(actions.first?["postingId"] as? String == posting)
        #expect(actions.first?["templateId"] as? String == TestEnvironment.templateA)
        #expect(json["problems"] is [Any])
        #expect(!result.stdout.contains("\"level\""), "logs go to stderr, not stdout")
    }

    @Test func dryRunWithJsonListsWithoutWriting() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        _ = try await BinaryRunner.run(["run", "--config", config], environment: env.environment)
        await tick()
        _ = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        let dry = try await BinaryRunner.run(
            ["run", "--dry-run", "--json", "--config", config], environment: env.environment)
        #expect(dry.status == 0)
        #expect(dry.json?["dryRun"] as? Bool == true)
        #expect((dry.json?["actions"] as? [Any])?.count == 1)
        #expect(await env.hubert.interviews.isEmpty)
    }

    @Test func everyNeededValueFromTheEnvironmentNeedsNoFile() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        var environment = env.environment
        environment["LEVER_BASE_URL"] = "\(env.leverOrigin)/v1"
        environment["HUBERT_BASE_URL"] = env.hubertOrigin
        environment["LHS_DATABASE"] = env.databasePath
        let result = try await BinaryRunner.run(["run", "--json"], environment: environment, directory: env.directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: env.databasePath))
        let mode = try FileManager.default.attributesOfItem(atPath: env.databasePath)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the database is created 0600")
    }

    @Test func wrongUsageExits64() async throws {
        #expect(try await BinaryRunner.run(["run", "--no-such-flag"]).status == 64)
        #expect(try await BinaryRunner.run(["backfill"]).status == 64, "--since is required")
        #expect(try await BinaryRunner.run(["backfill", "--since", "yesterday-ish"]).status == 64)
        #expect(
            try await BinaryRunner.run(["backfill", "--since", "2026-11-20", "--until", "2026-11-01"]).status == 64)
    }

    @Test func missingOrInvalidConfigurationExits78() async throws {
        let env = try await TestEnvironment()
        let missing = try await BinaryRunner.run(["run", "--config", "/nonexistent/lhs.yml"])
        #expect(missing.status == 78)
        let noKey = try await BinaryRunner.run(["run", "--json"], directory: env.directory)
        #expect(noKey.status == 78)
        #expect(noKey.stderr.contains("apiKey"))
        let plainHTTP = try writeConfig(
            env, env.yaml().replacingOccurrences(of: env.leverOrigin, with: "http://lever.example.com"))
        #expect(try await BinaryRunner.run(["run", "--config", plainHTTP], environment: env.environment).status == 78)
        let unwritable = try await BinaryRunner.run(
            ["run", "--config", try writeConfig(env), "--database", "/proc/no/such/db.sqlite3"],
            environment: env.environment)
        #expect(unwritable.status == 78, "a database path that cannot be created is configuration")
        let badStage = try writeConfig(env, env.yaml(autoMove: "autoMove:\n  lead: No Such Stage"))
        let stage = try await BinaryRunner.run(["run", "--config", badStage], environment: env.environment)
        #expect(stage.status == 78)
    }

    @Test func aRefusedCredentialExits77AndWritesNothing() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let config = try writeConfig(env)
        var wrongLever = env.environment
        wrongLever["LEVER_API_KEY"] = "wrong-key"
        let lever = try await BinaryRunner.run(["run", "--config", config, "--json"], environment: wrongLever)
        #expect(lever.status == 77)
        #expect(lever.stdout.contains("lever"))
        var wrongHubert = env.environment
        wrongHubert["HUBERT_API_KEY"] = "wrong-key"
        let hubert = try await BinaryRunner.run(["run", "--config", config], environment: wrongHubert)
        #expect(hubert.status == 77)
        #expect(
            try await env.store().checkpoint(SyncEngine.leverStream) == nil, "no checkpoint after a refused credential")
    }

    @Test func aSecondRunAgainstTheSameDatabaseExits75AtOnce() async throws {
        let env = try await TestEnvironment()
        let config = try writeConfig(env)
        let lock = try RunLock(databasePath: env.databasePath)
        let started = Date()
        let result = try await BinaryRunner.run(["run", "--config", config], environment: env.environment)
        #expect(result.status == 75)
        #expect(result.stderr.contains("another lever-hubert-sync run"))
        #expect(Date().timeIntervalSince(started) < 20, "at once: no waiting on the lock")
        withExtendedLifetime(lock) {}
    }

    @Test func overlappingProcessesTheSecondExits75() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        _ = try await BinaryRunner.run(["run", "--config", config], environment: env.environment)
        await tick()
        for i in 0..<10 {
            _ = await env.lever.addOpportunity(name: "P \(i)", emails: ["p\(i)@example.com"], posting: posting)
        }
        var slow = SandboxFaults()
        slow.latencyMs = 150
        await env.lever.setFaults(slow)
        let log = env.directory.appendingPathComponent("first.log")
        await env.lever.clearLog()
        let first = try BinaryRunner.start(["run", "--config", config], environment: env.environment, output: log)
        // The first run takes the lock before its first request: wait for that request, however loaded the machine.
        for _ in 0..<500 where await env.lever.requestLog.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        let second = try await BinaryRunner.run(["run", "--config", config, "--dry-run"], environment: env.environment)
        #expect(second.status == 75)
        while first.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(first.terminationStatus == 0)
        #expect(await env.hubert.interviews.count == 10)
    }

    @Test func backfillThroughTheBinary() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        let past = await env.lever.addOpportunity(
            name: "Past", emails: ["p@example.com"], posting: posting,
            createdAt: Date().millis - 2 * 86_400_000)
        let since = RFC3339.format(Date().millis - 3 * 86_400_000)
        let result = try await BinaryRunner.run(
            ["backfill", "--since", since, "--posting", posting, "--json", "--config", config],
            environment: env.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let actions = try #require(result.json?["actions"] as? [[String: Any]])
        #expect(actions.map { $0["opportunityId"] as? String } == [past])
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func progressShowsOnATerminalAndStaysQuietInCron() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        for i in 0..<250 {
            _ = await env.lever.addOpportunity(
                name: "P \(i)", emails: ["p\(i)@example.com"], posting: posting,
                archived: true, createdAt: Date().millis - 86_400_000 + Millis(i))
        }
        let since = RFC3339.format(Date().millis - 2 * 86_400_000)
        let command = "\(BinaryRunner.binary.path) backfill --since \(since) --config \(config) --log-level error"
        let tty = try await BinaryRunner.run(
            ["-qec", command, "/dev/null"], environment: env.environment,
            executable: URL(fileURLWithPath: "/usr/bin/script"))
        #expect(tty.status == 0, "\(tty.stdout)")
        #expect(tty.stdout.contains("lever opportunities:") && tty.stdout.contains("pages"), "\(tty.stdout)")
        let cron = try await BinaryRunner.run(
            ["backfill", "--since", since, "--config", config], environment: env.environment)
        #expect(cron.status == 0)
        #expect(!cron.stderr.contains("pages,"), "no progress line when stderr is not a terminal")
    }

    @Test func statusReadsTheStore() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let config = try writeConfig(env)
        _ = try await BinaryRunner.run(["run", "--config", config], environment: env.environment)
        let status = try await BinaryRunner.run(["status", "--json", "--config", config])
        #expect(status.status == 0, "\(status.stderr)")
        let json = try #require(status.json)
        #expect((json["checkpoints"] as? [Any])?.count == 2)
        #expect((json["runs"] as? [Any])?.count == 1)
    }
}
