import Foundation
import Logging
import Sandbox
import Testing

@testable import LeverHubertSync

/// Records every request it receives (a health-check endpoint stand-in).
actor RecordingService: SandboxService {
    private(set) var requests: [String] = []
    func respond(_ request: SandboxRequest) async -> SandboxResponse {
        requests.append("\(request.method) \(request.path)")
        return SandboxResponse(status: 200, body: Data("OK".utf8))
    }
}

@Suite struct OperationsTests {
    static let noLogs = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test func oauthRefreshesRotatesAndPersistsTheRefreshToken() async throws {
        let env = try await TestEnvironment()
        await env.lever.enableOAuth(clientId: "client-1", clientSecret: "client-secret-1", refreshToken: "rt-initial")
        _ = await env.taggedPosting()
        let tokenFile = env.directory.appendingPathComponent("lever.token").path
        let oauth =
            "\n  oauth:\n    clientId: client-1\n    clientSecret: client-secret-1\n    refreshToken: rt-initial\n    tokenURL: \(env.leverOrigin)/oauth/token\n    tokenFile: \(tokenFile)"
        func config() throws -> AppConfig {
            let yaml = env.yaml().replacingOccurrences(
                of: "  apiKey: ${LEVER_API_KEY}", with: String(oauth.dropFirst()))
            // A home for the record that the configured refresh token was spent (without one it is not presented).
            let home = env.directory.appendingPathComponent("home").path
            return try ConfigLoader.resolve(
                ConfigLoader.parse(yaml: yaml),
                environment: ["HUBERT_API_KEY": TestEnvironment.hubertKey, "HOME": home]
            ).config
        }
        let first = try config()
        #expect(first.lever.apiKey == nil)
        // One pass in a session of its own, as a new process runs it.
        func pass() async throws -> PassReport {
            let session = try env.session(config())
            defer { session.close() }
            return await session.pass(mode: .live)
        }
        let session = try env.session(first)
        let wiring = session.wire()
        let report = await session.pass(mode: .live, wiring: wiring)
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(await env.lever.tokenRefreshes == 1)
        let saved = try #require(try TokenFile.read(tokenFile)).refreshToken
        #expect(saved == (await env.lever.currentRefreshToken()))
        #expect(saved != "rt-initial", "the rotated token is kept")
        #expect((try FileManager.default.attributesOfItem(atPath: tokenFile)[.posixPermissions] as? Int) == 0o600)

        // The access token dies: one 401, one refresh, the request goes through.
        await env.lever.expireAccessTokens()
        let again = await session.pass(mode: .live, wiring: wiring)
        session.close()
        #expect(again.exitCode == 0, "\(again.message ?? "")")
        #expect(await env.lever.tokenRefreshes == 2)

        // A new process starts from the token file, not from the (now stale) configured token, and reuses the
        // access token kept there: no refresh.
        let next = try await pass()
        #expect(next.exitCode == 0, "\(next.message ?? "")")
        #expect(await env.lever.tokenRefreshes == 2)

        // A refresh token that Lever no longer accepts is a refused credential.
        try "rt-revoked".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let refused = try await pass()
        #expect(refused.exitCode == 77)
    }

    @Test func metricsFileAndHealthPings() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let recorder = RecordingService()
        let server = try await SandboxHTTPServer(service: recorder)
        let config = env.directory.appendingPathComponent("lhs.yml").path
        try env.yaml(extra: "healthcheck:\n  url: \(await server.origin)/ping/abc").write(
            toFile: config, atomically: true, encoding: .utf8)
        let metrics = env.directory.appendingPathComponent("lhs.prom").path
        #expect(
            try await BinaryRunner.run(
                ["run", "--config", config, "--metrics-file", metrics], environment: env.environment
            ).status == 0)
        await tick()
        _ = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        #expect(
            try await BinaryRunner.run(
                ["run", "--config", config, "--metrics-file", metrics], environment: env.environment
            ).status == 0)
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(text.contains("lever_hubert_sync_last_run_exit_code{mode=\"run\",dry_run=\"false\"} 0"))
        #expect(
            text.contains(
                "lever_hubert_sync_last_run_items{mode=\"run\",dry_run=\"false\",kind=\"invitations_sent\"} 1"))
        #expect(
            text.contains(
                "lever_hubert_sync_last_run_http_responses{mode=\"run\",dry_run=\"false\",service=\"hubert\",class=\"2xx\"}"
            ))
        #expect(text.contains("\nlever_hubert_sync_invitations_sent_total 1\n"))
        #expect(text.contains("\nlever_hubert_sync_runs_total{mode=\"run\",exit_code=\"0\"} 2\n"))
        for state in ["pending", "sent", "started", "completed", "expired", "cancelled", "refused", "stale"] {
            #expect(text.contains("lever_hubert_sync_invitations{state=\"\(state)\"} "), "invitations{state=\(state)}")
        }

        // A backfill and a dry run do not replace the cron run's series.
        let now = Date()
        let since = RFC3339.format(now.millis - 3_600_000)
        #expect(
            try await BinaryRunner.run(
                ["backfill", "--since", since, "--config", config, "--metrics-file", metrics],
                environment: env.environment
            ).status == 0)
        let both = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(both.contains("lever_hubert_sync_last_run_exit_code{mode=\"run\",dry_run=\"false\"} 0"), "kept")
        #expect(both.contains("lever_hubert_sync_last_run_exit_code{mode=\"backfill\",dry_run=\"false\"} 0"))
        #expect(
            both.components(separatedBy: "# TYPE lever_hubert_sync_last_run_exit_code").count == 2,
            "one block per metric")
        #expect(
            try await BinaryRunner.run(
                ["run", "--dry-run", "--config", config, "--metrics-file", metrics],
                environment: env.environment
            ).status == 0)
        #expect(try String(contentsOfFile: metrics, encoding: .utf8) == both, "a dry run writes no metrics")
        #expect(text.contains("lever_hubert_sync_checkpoint_lag_seconds{stream=\"lever.opportunities\"}"))
        #expect(text.contains("lever_hubert_sync_pending_intents{kind=\"invitation\"} 0"))
        #expect(text.contains("lever_hubert_sync_last_success_timestamp_seconds"))
        #expect(!FileManager.default.fileExists(atPath: metrics + ".tmp"))

        var wrong = env.environment
        wrong["HUBERT_API_KEY"] = "nope"
        #expect(
            try await BinaryRunner.run(["run", "--config", config, "--metrics-file", metrics], environment: wrong)
                .status == 77)
        #expect(
            try String(contentsOfFile: metrics, encoding: .utf8).contains(
                "lever_hubert_sync_last_run_exit_code{mode=\"run\",dry_run=\"false\"} 77"))
        let pings = await recorder.requests
        #expect(
            pings == [
                "POST /ping/abc/start", "POST /ping/abc", "POST /ping/abc/start", "POST /ping/abc",
                "POST /ping/abc/start", "POST /ping/abc", "POST /ping/abc/start", "POST /ping/abc/77",
            ])
        await server.stop()

        // A health-check endpoint that is down never fails the run.
        try env.yaml(extra: "healthcheck:\n  url: http://127.0.0.1:9/ping").write(
            toFile: config, atomically: true, encoding: .utf8)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
    }

    @Test func pausedDoesNothingButReport() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let report = try await env.pass { $0.sync?.paused = true }
        #expect(report.exitCode == 0)
        #expect(report.paused)
        #expect(report.requests.lever == 0 && report.requests.hubert == 0)
        #expect(await env.lever.requestLog.isEmpty)
        #expect(try await env.store().checkpoints().isEmpty, "state is kept as it was")
    }

    @Test func deletedOpportunitiesArePurgedFromTheStore() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["a@example.com"], posting: posting)
        _ = try await env.pass()
        #expect(try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA) != nil)
        #expect(await env.lever.requestLog.filter { $0 == "GET /v1/opportunities/deleted" }.count == 1)
        await tick()
        await env.lever.delete(ada)
        // Within the hour the deleted list is not read again (an idle pass costs two Lever requests)…
        await env.lever.clearLog()
        _ = try await env.pass(clockOffset: 30 * 60_000)
        #expect(!(await env.lever.requestLog.contains("GET /v1/opportunities/deleted")))
        #expect(try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA) != nil)
        // …an hour after the last read it is, from that read (minus the lookback), and the opportunity is forgotten.
        _ = try await env.pass(clockOffset: 61 * 60_000)
        #expect(try await env.store().invitation(opportunityId: ada, templateId: TestEnvironment.templateA) == nil)
        #expect(await env.lever.requestLog.contains("GET /v1/opportunities/deleted"))
    }

    func writeConfig(_ env: TestEnvironment, _ yaml: String) throws -> String {
        let path = env.directory.appendingPathComponent("check.yml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func checkPassesOnAGoodSetupAndNamesWhatIsWrong() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        _ = await env.lever.addOpportunity(name: "Someone", emails: ["s@example.com"], posting: nil)
        let good = try writeConfig(env, env.yaml(autoMove: "autoMove:\n  lead: Phone screen"))
        let ok = try await BinaryRunner.run(["check", "--config", good, "--json"], environment: env.environment)
        #expect(ok.status == 0, "\(ok.stdout)")
        let items = try #require(ok.json?["items"] as? [[String: Any]])
        #expect(items.allSatisfy { $0["ok"] as? Bool == true })
        for name in [
            "lever stages", "lever postings", "lever tags", "lever opportunities", "lever notes", "lever applications",
            "perform-as", "stage autoMove.lead", "hubert template",
        ] {
            #expect(items.contains { ($0["name"] as? String)?.contains(name) == true }, "check covers \(name)")
        }
        let writesBefore = await env.lever.requestLog.filter { !$0.hasPrefix("GET") }.count
        #expect(writesBefore == 0, "check writes nothing")

        let broken = await env.lever.addPosting(text: "Broken", tags: ["Hubert: 123"])
        let badTag = try await BinaryRunner.run(["check", "--config", good], environment: env.environment)
        #expect(badTag.status == 78)
        #expect(badTag.stdout.contains(broken))
        await env.lever.setPostingTags(broken, tags: [])

        let badStage = try writeConfig(env, env.yaml(autoMove: "autoMove:\n  lead: Nowhere Stage"))
        let stage = try await BinaryRunner.run(["check", "--config", badStage], environment: env.environment)
        #expect(stage.status == 78)
        #expect(stage.stdout.contains("Nowhere Stage"))

        var wrong = env.environment
        wrong["LEVER_API_KEY"] = "wrong"
        #expect(try await BinaryRunner.run(["check", "--config", good], environment: wrong).status == 77)
        wrong = env.environment
        wrong["HUBERT_API_KEY"] = "wrong"
        #expect(try await BinaryRunner.run(["check", "--config", good], environment: wrong).status == 77)
        #expect(try await BinaryRunner.run(["check", "--config", "/nonexistent.yml"]).status == 78)
    }

    @Test func statusShowsInvitationsProblemsAndRuns() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["a@example.com"], posting: posting)
        let noMail = await env.lever.addOpportunity(name: "No Mail", emails: [], posting: posting)
        _ = await env.lever.addOpportunity(name: "Cy", emails: ["c@example.com"], posting: posting)
        _ = try await env.pass()
        if let interview = await env.interviews(ada).first {
            await env.hubert.complete(interview.id, grade: .lead, score: 90)
        }
        await tick()
        _ = try await env.pass()
        let status = try await StatusReport.load(
            store: try env.store(), now: Date().millis + 8 * 86_400_000, staleAfterDays: 7)
        #expect(status.invitations.completed == 1)
        #expect(status.invitations.sent == 1)
        #expect(status.invitations.stale == 1, "no result after 7 days")
        #expect(
            status.problems.contains {
                $0.opportunityId == noMail && $0.leverURL == "https://hire.lever.co/candidates/\(noMail)"
            })
        #expect(status.runs.count == 3)
        #expect(status.runs.first?.exitCode == 0)
        #expect(status.checkpoints.map(\.stream).sorted() == [SyncEngine.hubertStream, SyncEngine.leverStream])
    }

    @Test func retentionPrunesOldRunsButNeverWhatStopsADuplicateNote() async throws {
        let store = try Store()
        try await store.recordRunStart(id: "old-run", kind: "run", now: 1_000)
        try await store.recordResultApplied(
            interviewId: "iv1", opportunityId: "o1", fingerprint: "lead|80|70", grade: .lead, now: 1_000)
        try await store.recordStepIntent(
            ResultStepRecord(
                interviewId: "iv2", fingerprint: "f", step: .note, opportunityId: "o2",
                done: false, marker: "[m]"), now: 1_000)
        let removed = try await store.prune(before: 2_000)
        #expect(removed == 1, "the old run")
        #expect(try await store.appliedFingerprint(interviewId: "iv1") == "lead|80|70")
        #expect(
            try await store.unfinishedResults().map(\.interviewId) == ["iv2"], "an unconfirmed intent is never pruned")
    }

    @Test func aFixedPostingTagNoLongerShowsAsAProblem() async throws {
        let env = try await TestEnvironment()
        let posting = await env.lever.addPosting(text: "Typo", tags: ["Hubert: 61f080d9414018eda48a738"])
        _ = try await env.pass()
        var status = try await StatusReport.load(store: try env.store(), now: Date().millis)
        #expect(status.problems.contains { $0.postingId == posting && $0.reason == "invalid_hubert_tag" })
        await env.lever.setPostingTags(posting, tags: ["Hubert: \(TestEnvironment.templateA)"])
        _ = try await env.pass()
        status = try await StatusReport.load(store: try env.store(), now: Date().millis)
        #expect(!status.problems.contains { $0.postingId == posting })
    }

    @Test func theDemoRunsAndTellsARecruiterWhatHappened() async throws {
        let result = try await BinaryRunner.run(["demo"])
        #expect(result.status == 0, "\(result.stderr)")
        for line in [
            "invited to the Hubert interview", "tagged \"Hubert: Lead\"", "moved to Phone screen",
            "regraded", "nothing to do", "Duplicate invitation e-mails: 0", "is held back: no e-mail address",
            "No Email — invited to the Hubert interview",
        ] {
            #expect(result.stdout.contains(line), "demo output lacks: \(line)")
        }
    }

    @Test func theReadmeQuickStartIsExactlyTwoCommandsAndCIRunsTheTestOne() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(
            readme.components(separatedBy: "## Quick start").dropFirst().first?.components(separatedBy: "\n## ").first)
        let block = try #require(
            section.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first)
        let commands = block.split(separator: "\n").map {
            $0.components(separatedBy: "#").first!.trimmingCharacters(in: .whitespaces)
        }
        .filter { !$0.isEmpty }
        #expect(commands.count == 2)
        #expect(commands.first?.contains("demo") == true)
        let ci = try String(contentsOf: root.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(ci.contains(commands.last ?? "—"), "CI runs the README's test command")
    }
}
