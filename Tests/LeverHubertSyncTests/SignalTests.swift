import Foundation
import GRDB
import Sandbox
import Testing

@testable import LeverHubertSync

/// SIGTERM and SIGINT (systemd stopping the unit, Kubernetes evicting the pod, an operator's ^C) stop the pass
/// cleanly: exit 75 within 10 s, the run recorded, the finish ping sent, nothing half-recorded — the next pass
/// finishes the work exactly once.
@Suite struct SignalTests {
    func config(_ env: TestEnvironment) throws -> String {
        let path = env.directory.appendingPathComponent("lever-hubert-sync.yml").path
        try env.yaml(extra: "healthcheck:\n  url: \(env.leverOrigin)/hc").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a signal stops the pass cleanly with 75 within 10 s", arguments: [SIGTERM, SIGINT])
    func aSignalStopsThePassCleanly(_ number: Int32) async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = try config(env)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        await tick()
        var ids: [String] = []
        for i in 0..<6 {
            ids.append(await env.lever.addOpportunity(name: "P \(i)", emails: ["p\(i)@example.com"], posting: posting))
        }
        var slow = SandboxFaults()
        slow.latencyMs = 1_500
        await env.lever.setFaults(slow)
        await env.lever.clearLog()
        let log = env.directory.appendingPathComponent("run.log")
        let process = try BinaryRunner.start(["run", "--config", config], environment: env.environment, output: log)
        // Wait until the pass is in the middle of Lever requests (beyond the start ping).
        for _ in 0..<500 where await env.lever.requestLog.filter({ $0.hasPrefix("GET /v1/") }).isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        let sent = Date()
        kill(process.processIdentifier, number)
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let took = Date().timeIntervalSince(sent)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(process.terminationReason == .exit, "exited, not killed by the signal: \(output)")
        #expect(process.terminationStatus == 75, "\(output)")
        #expect(took < 10, "stopped in \(took) s")
        let runs = try await env.store().read { db in
            try Row.fetchAll(db, sql: "SELECT exit_code FROM run ORDER BY started_ms DESC LIMIT 1").map {
                $0["exit_code"] as Int?
            }
        }
        #expect(runs == [75], "the run is recorded with exit 75")
        let pings = await env.lever.requestLog.filter { $0.hasPrefix("POST /hc") }
        #expect(pings == ["POST /hc/start", "POST /hc/75"], "the finish ping is sent: \(pings)")

        await env.lever.setFaults(SandboxFaults())
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        for id in ids { #expect(await env.interviews(id).count == 1, "the next pass finishes the work, once") }
        #expect(await env.hubert.emailsSent.values.allSatisfy { $0 == 1 })
    }

    @Test func aHeldLockExits75AtOnceWithoutAHealthPing() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let config = try config(env)
        let holder = try RunLock(databasePath: env.databasePath)
        await env.lever.clearLog()
        let result = try await BinaryRunner.run(["run", "--config", config], environment: env.environment)
        #expect(result.status == 75)
        #expect(await env.lever.requestLog.isEmpty, "the holder pings, not the one that found it held")
        withExtendedLifetime(holder) {}
    }

    @Test func pingsCarryTheRunIdAndTheSummary() async throws {
        // A tiny HTTP listener that records what it is sent.
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        let recorder = PingRecorder()
        let server = try await SandboxHTTPServer(service: recorder)
        let path = env.directory.appendingPathComponent("lever-hubert-sync.yml").path
        try env.yaml(extra: "healthcheck:\n  url: \(await server.origin)/ping/abc").write(
            toFile: path, atomically: true, encoding: .utf8)
        let result = try await BinaryRunner.run(["run", "--json", "--config", path], environment: env.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let runId = try #require(result.json?["runId"] as? String)
        let seen = await recorder.requests
        #expect(seen.map(\.path) == ["/ping/abc/start", "/ping/abc"])
        #expect(seen.allSatisfy { $0.query.contains { $0.name == "rid" && $0.value == runId } }, "\(seen.map(\.query))")
        let body = String(decoding: seen.last?.body ?? Data(), as: UTF8.self)
        #expect(body.contains("exit 0") && body.contains(runId), "the finish ping's body is the summary: \(body)")
        await server.stop()
    }
}

/// Records every request; answers 200.
actor PingRecorder: SandboxService {
    var requests: [SandboxRequest] = []
    func respond(_ request: SandboxRequest) async -> SandboxResponse {
        requests.append(request)
        return SandboxResponse(status: 200)
    }
}
