import Foundation
import Logging
import Sandbox
import Testing

@testable import LeverHubertSync

/// A shared Lever key: the pass slows down on 429 instead of giving up, stops only when nothing is served, and
/// remembers the rate it learned. Real HTTP over loopback, real SQLite; bounds are loose (a loaded 2-core machine).
@Suite struct GoodNeighbourTests {
    /// `count` opportunities invited by a pass and then completed in Hubert: the next pass writes `count` results.
    static func completedInterviews(_ env: TestEnvironment, count: Int) async throws -> [String] {
        let posting = try await EndToEndTests.baseline(env)
        var ids: [String] = []
        for i in 0..<count {
            ids.append(
                await env.lever.addOpportunity(name: "Neighbour \(i)", emails: ["n\(i)@example.com"], posting: posting))
        }
        let invite = try await env.pass()
        #expect(invite.exitCode == 0 && invite.counts.invitationsSent == count, "\(invite.message ?? "")")
        for (i, id) in ids.enumerated() {
            if let interview = await env.interviews(id).first {
                await env.hubert.complete(interview.id, grade: HubertGrade.allCases[i % 3], score: Double(50 + i))
            }
        }
        await tick()
        return ids
    }

    /// Throttled answers to Lever in a metrics file.
    static func lever429s(_ metrics: String) -> Int {
        let text = (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? ""
        return text.split(separator: "\n")
            .filter {
                $0.contains("http_responses{") && $0.contains("service=\"lever\"") && $0.contains("class=\"429\"")
            }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    /// The issue's situation, scaled up twofold to keep the test short: a key of 20 requests/s (burst 20) with a
    /// neighbour spending 14 of them, and the sync configured at 16/s with the default retry settings. The release
    /// before pushed the neighbour to about a third of 429s and could stop with 75 ("HTTP 429 after 5 attempts");
    /// now the pass finishes, with few 429s on either side, and the next pass starts from the rate it learned.
    @Test func aResultsPassBesideANeighbourOnTheKeyFinishesWithFew429s() async throws {
        let env = try await TestEnvironment()
        let count = 40
        _ = try await Self.completedInterviews(env, count: count)
        await env.lever.setRateLimit((20, 20))
        let neighbour = LeverNeighbour(lever: env.lever, apiKey: TestEnvironment.leverKey, rate: 14)
        await neighbour.start()
        try await Task.sleep(for: .seconds(1))
        #expect(await neighbour.throttled == 0, "alone on the key the neighbour gets no 429")
        await neighbour.resetCounts()

        var yaml = env.yaml(autoMove: "autoMove:\n  lead: Phone screen")
        let leverRate = "requestsPerSecond: 500\n  burst: 50"
        let range = try #require(yaml.range(of: leverRate), "the test configuration's Lever rate")
        yaml.replaceSubrange(range, with: "requestsPerSecond: 16\n  burst: 10")
        // The default retry settings (the tests' are fast and short).
        let retry = "  retry:\n    maxAttempts: 4\n    baseDelayMs: 5\n    maxDelayMs: 50\n    budget: 100\n"
        #expect(yaml.contains(retry), "the test configuration's retry block")
        yaml = yaml.replacingOccurrences(of: retry, with: "")
        let config = env.directory.appendingPathComponent("neighbour.yml").path
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let metrics = env.directory.appendingPathComponent("metrics.prom").path

        let first = try await BinaryRunner.run(
            ["run", "--json", "--config", config, "--metrics-file", metrics], environment: env.environment)
        let neighbourShare = await neighbour.throttledShare
        let json = first.json ?? [:]
        let counts = json["counts"] as? [String: Any] ?? [:]
        let requests = (json["requests"] as? [String: Any])?["lever"] as? Int ?? 0
        let throttled = Self.lever429s(metrics)
        print(
            "neighbour at 14 of 20/s: exit \(first.status), own 429s \(throttled) of \(requests) Lever requests, "
                + "neighbour's 429s \(Int(neighbourShare * 100))%")
        #expect(first.status == 0, "the pass finishes while it is served: \(first.stderr.suffix(600))")
        #expect(counts["resultsApplied"] as? Int == count)
        #expect(requests > 0 && Double(throttled) <= 0.20 * Double(requests), "own 429s: \(throttled) of \(requests)")
        #expect(neighbourShare <= 0.12, "the neighbour's 429s: \(neighbourShare)")
        let lowered = first.stderr.components(separatedBy: "\n").filter { $0.contains("request rate lowered: lever") }
        // 16/s beside 14/s on a 20/s key cannot go unthrottled: the rest of the test needs the 429s it learns from.
        #expect(throttled > 0, "the key is oversubscribed: some 429s")
        #expect(lowered.count == 1, "said once per pass, not per request")

        let status = try await BinaryRunner.run(["status", "--json", "--config", config], environment: env.environment)
        let rates = (status.json?["requestRates"] as? [[String: Any]]) ?? []
        let lever = rates.first { $0["service"] as? String == "lever" } ?? [:]
        let learned = lever["learnedPerSecond"] as? Double ?? 0
        #expect(learned > 0 && learned <= 16, "status shows the learned rate: \(lever)")
        #expect(lever["throttledLastRun"] as? Int == throttled, "and the 429s of the last run")
        #expect(learned < 16, "a rate lowered by the 429s")

        // The next pass starts from what was learned, not from the configured 16/s.
        let second = try await BinaryRunner.run(["run", "--config", config], environment: env.environment)
        await neighbour.stop()
        #expect(second.status == 0)
        #expect(second.stderr.contains("starting from the request rate the last pass learned"), "\(second.stderr)")
    }

    /// More 429s in a row than `maxAttempts` (4 in the tests' configuration): not a reason to give up while the service
    /// goes on serving; the pass slows down and finishes.
    @Test func aRunOf429sLongerThanTheAttemptsIsNoFailure() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        _ = await env.lever.addOpportunity(name: "Ada", emails: ["ada@example.com"], posting: posting)
        var storm = SandboxFaults()
        storm.storm429 = 12
        storm.stormRetryAfter = false
        await env.lever.setFaults(storm)
        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(report.counts.invitationsSent == 1)
        let learned = try await env.store().learnedRates()[.lever]
        #expect((learned?.throttledLastPass ?? 0) == 12)
        #expect((learned?.learnedPerSecond ?? 500) < 500, "the rate was lowered and remembered")
    }

    /// Nothing served for `sync.unservedTimeoutSeconds`: the pass stops with 75 and the checkpoints stay.
    @Test func nothingServedForTheTimeoutStopsThePassWith75() async throws {
        let env = try await TestEnvironment()
        _ = try await EndToEndTests.baseline(env)
        let before = try await env.store().checkpoints()
        var storm = SandboxFaults()
        storm.storm429 = 1_000_000
        storm.stormRetryAfter = false
        await env.lever.setFaults(storm)
        let started = Date()
        let report = try await env.pass(extra: "") { file in file.sync?.unservedTimeoutSeconds = 2 }
        #expect(report.exitCode == 75)
        #expect(report.message?.contains("nothing served") == true, "\(report.message ?? "")")
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(try await env.store().checkpoints() == before, "no checkpoint moves past unfinished work")
    }

    /// The rate a pass ends with is kept in the store; the next pass's buckets start from it.
    @Test func theLearnedRateCarriesToTheNextPass() async throws {
        let env = try await TestEnvironment()
        _ = try await EndToEndTests.baseline(env)
        var storm = SandboxFaults()
        storm.storm429 = 3
        storm.stormRetryAfter = false
        await env.lever.setFaults(storm)
        #expect(try await env.pass().exitCode == 0)
        let learned = try #require(try await env.store().learnedRates()[.lever])
        #expect(learned.learnedPerSecond < 500 && learned.configuredPerSecond == 500)

        let session = try env.session()
        let wiring = session.wire()
        let (runtime, engine) = (wiring.runtime, wiring.engine)
        #expect(await runtime.lever.http.bucket.state?.rate == 500, "a new process starts at the ceiling…")
        await engine.startFromLearnedRates(logger: runtime.logger)
        let start = try #require(await runtime.lever.http.bucket.state?.rate)
        #expect(abs(start - learned.learnedPerSecond) < 0.01, "…and a pass from the learned rate")
        #expect(await runtime.hubert.http.bucket.state?.rate == 500, "Hubert's own rate is not Lever's")
        session.close()

        // A pass without 429s keeps a rate at least as high (regrowing toward the ceiling, never above).
        #expect(try await env.pass().exitCode == 0)
        let next = try #require(try await env.store().learnedRates()[.lever])
        #expect(next.learnedPerSecond >= learned.learnedPerSecond - 0.01 && next.learnedPerSecond <= 500)
        #expect(next.throttledLastPass == 0)
    }
}
