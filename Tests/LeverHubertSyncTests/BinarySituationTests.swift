import Foundation
import GRDB
import Sandbox
import Testing

@testable import LeverHubertSync

/// Situations of real operation staged against the built binary, as cron runs it.
@Suite struct BinarySituationTests {
    func writeConfig(_ env: TestEnvironment, databasePath: String? = nil) throws -> String {
        var text = env.yaml()
        if let databasePath {
            text = text.replacingOccurrences(of: "path: \(env.databasePath)", with: "path: \(databasePath)")
        }
        let path = env.directory.appendingPathComponent("lever-hubert-sync.yml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Every file below `directory` with its size, modification time and content digest.
    static func tree(_ directory: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            let data = FileManager.default.contents(atPath: url.path) ?? Data()
            result[url.path] =
                "\(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? "") \(FNV1a.hash(data.base64EncodedString()))"
        }
        return result
    }

    @Test func aDryRunOnANewDatabaseCreatesNoFileAndNoDirectory() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let database = env.directory.appendingPathComponent("state/deeper/sync.sqlite3").path
        let config = try writeConfig(env, databasePath: database)
        let before = try Self.tree(env.directory)
        let dry = try await BinaryRunner.run(
            ["run", "--dry-run", "--json", "--config", config], environment: env.environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(try Self.tree(env.directory) == before, "no lock file, no directory, no database")
        #expect(!FileManager.default.fileExists(atPath: env.directory.appendingPathComponent("state").path))
    }

    @Test func aDryRunOnAnExistingDatabaseChangesNoFile() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        await tick()
        _ = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        let before = try Self.tree(env.directory)
        try await Task.sleep(for: .milliseconds(20))
        let dry = try await BinaryRunner.run(
            ["run", "--dry-run", "--json", "--config", config], environment: env.environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect((dry.json?["actions"] as? [Any])?.count == 1)
        let after = try Self.tree(env.directory)
        #expect(after == before, "the database, its WAL and the lock file are untouched: \(before) → \(after)")
    }

    @Test func aDryRunOnAnOlderDatabaseDoesNotMigrateIt() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let config = try writeConfig(env)
        do {
            let queue = try DatabaseQueue(path: env.databasePath)
            try Schema.migrator.migrate(queue, upTo: "v2-lookup-cache")
        }
        let before = try Self.tree(env.directory)
        let dry = try await BinaryRunner.run(["run", "--dry-run", "--config", config], environment: env.environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(try Self.tree(env.directory) == before)
        let migrated = try await DatabaseQueue(path: env.databasePath).read {
            try Schema.migrator.appliedIdentifiers($0)
        }
        #expect(!migrated.contains("v3-due-results"), "the file is never migrated by a dry run")
    }

    @Test func aDryRunWaitsForNobodyButNeverOverlapsAWritingRun() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let config = try writeConfig(env)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        let holder = try RunLock(databasePath: env.databasePath)
        let dry = try await BinaryRunner.run(["run", "--dry-run", "--config", config], environment: env.environment)
        #expect(dry.status == 75, "\(dry.stderr)")
        withExtendedLifetime(holder) {}
    }

    @Test(
        "a stored checkpoint in the future is no crash (it was SIGILL, exit 132)",
        arguments: [3_600_000, 10 * 365 * 86_400_000] as [Millis])
    func aCheckpointInTheFutureThroughTheBinary(_ ahead: Millis) async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try writeConfig(env)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        try await env.store().setCheckpoints(
            [
                SyncEngine.leverStream: Date().millis + ahead,
                SyncEngine.hubertStream: Date().millis + ahead,
            ], now: Date().millis)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        let result = try await BinaryRunner.run(["run", "--json", "--config", config], environment: env.environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("checkpoint lies in the future"), "a warning names the skew")
        #expect(await env.interviews(ada).count == 1)
    }

    @Test func statusJsonListsRunsAsTheContractShowsThem() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let config = try writeConfig(env)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        try await env.store().recordRunStart(id: "killed-run", kind: "run", now: Date().millis + 1)
        let status = try await BinaryRunner.run(["status", "--json", "--config", config], environment: env.environment)
        #expect(status.status == 0, "\(status.stderr)")
        let runs = try #require(status.json?["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        let unfinished = try #require(runs.first)
        #expect(unfinished["runId"] as? String == "killed-run", "newest first")
        #expect(
            unfinished.keys.contains("exitCode") && unfinished["exitCode"] is NSNull,
            "exitCode is null while unfinished")
        let finished = try #require(runs.last)
        #expect(finished["mode"] as? String == "run")
        #expect(finished["dryRun"] as? Bool == false)
        #expect(finished["exitCode"] as? Int == 0)
        #expect(finished["startedAt"] is String)
        #expect(finished["counts"] is [String: Any])
    }

    @Test func statusWritesTheFunnelPageAndTheJsonCarriesTheFunnel() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting(text: "Warehouse <Night> & Day")
        let config = try writeConfig(env)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        await tick()
        _ = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        let page = env.directory.appendingPathComponent("funnel.html").path
        let status = try await BinaryRunner.run(
            ["status", "--json", "--html", page, "--since", "2020-01-01", "--config", config],
            environment: env.environment)
        #expect(status.status == 0, "\(status.stderr)")
        let funnel = try #require(status.json?["funnel"] as? [[String: Any]])
        #expect(funnel.count == 1)
        #expect(funnel.first?["postingId"] as? String == posting)
        #expect(funnel.first?["applied"] as? Int == 1)
        #expect(funnel.first?["invited"] as? Int == 1)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("Warehouse &lt;Night&gt; &amp; Day"))
        let mode = try FileManager.default.attributesOfItem(atPath: page)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        let bad = try await BinaryRunner.run(
            ["status", "--since", "yesterday", "--config", config], environment: env.environment)
        #expect(bad.status == 64)
    }

    @Test("a completion script for each shell", arguments: ["bash", "zsh", "fish"])
    func completionScripts(_ shell: String) async throws {
        let result = try await BinaryRunner.run(["--generate-completion-script", shell])
        #expect(result.status == 0)
        #expect(result.stdout.contains("lever-hubert-sync") && result.stdout.contains("backfill"))
    }

    @Test func demoRefusesADatabaseItDidNotMake() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        _ = try await env.pass()
        let before = try Self.tree(env.directory)
        let result = try await BinaryRunner.run(["demo", "--database", env.databasePath])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("not a database the demo made"))
        #expect(try Self.tree(env.directory) == before, "the real database is untouched")
    }
}
