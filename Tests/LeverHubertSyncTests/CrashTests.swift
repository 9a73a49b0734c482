import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// Runs the built binary against the sandboxes and kills it with SIGKILL at many points of a pass — including
/// between a write and its ledger record — then runs it to completion: every eligible opportunity has exactly one
/// Hubert interview, every result exactly one note and the right tag, link and move; nothing is missing.
@Suite struct CrashTests {
    /// Kill points reached once per item (so the n-th item's visit can be the one killed), and how often each is tried.
    static let invitePoints: [(KillPoint, Int)] = [
        (.invitationIntentRecorded, 3), (.invitationAnswered, 3), (.beforeCheckpoint, 1),
    ]
    static let resultPoints: [(KillPoint, Int)] = [
        (.noteIntentRecorded, 2), (.noteAnswered, 2), (.tagsWritten, 2), (.linkWritten, 2),
        (.moveAnswered, 2), (.resultRecorded, 2), (.beforeCheckpoint, 1),
    ]

    @Test func killedAtEveryPointThenRunToCompletion() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = env.directory.appendingPathComponent("lhs.yml").path
        try env.yaml(autoMove: ExactlyOnceTests.autoMove).write(toFile: config, atomically: true, encoding: .utf8)
        func run(killAt: String? = nil) async throws -> BinaryRunner.Result {
            var environment = env.environment
            if let killAt { environment["LHS_TEST_KILL_AT"] = killAt }
            return try await BinaryRunner.run(["run", "--config", config, "--json"], environment: environment)
        }
        #expect(try await run().status == 0)
        await tick()
        var eligible: [String] = []
        for i in 0..<40 {
            eligible.append(
                await env.lever.addOpportunity(name: "Person \(i)", emails: ["p\(i)@x.example"], posting: posting))
        }

        var tried = 0
        var killed = 0
        func killRun(_ point: KillPoint, _ n: Int) async throws {
            let result = try await run(killAt: "\(point.rawValue):\(n)")
            tried += 1
            if result.status == SIGKILL { killed += 1 } else { #expect(result.status == 0, "\(result.stderr)") }
        }
        for (point, times) in Self.invitePoints {
            for n in 1...times { try await killRun(point, n) }
        }
        var final = try await run()
        #expect(final.status == 0, "\(final.stderr)")

        // Results arrive three at a time (one of each grade), so that every kill point has work to stop in.
        var grades: [String: HubertGrade] = [:]
        var pool = eligible.makeIterator()
        func completeNext(_ count: Int) async {
            for _ in 0..<count {
                guard let id = pool.next(), let interview = await env.interviews(id).first else { return }
                let grade = HubertGrade.allCases[grades.count % 3]
                grades[id] = grade
                await env.hubert.complete(interview.id, grade: grade, score: Double(40 + grades.count))
            }
            await tick()
        }
        for (point, times) in Self.resultPoints {
            for n in 1...times {
                await completeNext(3)
                try await killRun(point, n)
            }
        }
        await completeNext(40)
        final = try await run()
        #expect(final.status == 0, "\(final.stderr)")
        let idle = try await run()
        #expect(
            (idle.json?["actions"] as? [Any])?.isEmpty == true, "after recovery nothing is left to do: \(idle.stdout)")

        var duplicates = 0
        var missing = 0
        for id in eligible {
            let interviews = await env.interviews(id)
            if interviews.isEmpty { missing += 1 }
            duplicates += max(0, interviews.count - 1)
            for interview in interviews { duplicates += max(0, (await env.hubert.emailsSent[interview.id] ?? 0) - 1) }
            let notes = await env.lever.notesOf(id).count
            if notes == 0 { missing += 1 }
            duplicates += max(0, notes - 1)
        }
        print("crash test: \(tried) kill points tried, \(killed) kills, \(duplicates) duplicates, \(missing) missing")
        #expect(killed == tried, "every kill point must really be reached")
        #expect(grades.count == eligible.count)
        #expect(duplicates == 0)
        #expect(missing == 0)
        try await ExactlyOnceTests.verify(env, eligible: eligible, grades: grades)
    }

    @Test func killedAtRandomMomentsUnderLatency() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = env.directory.appendingPathComponent("lhs.yml").path
        try env.yaml(autoMove: ExactlyOnceTests.autoMove).write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        await tick()
        var eligible: [String] = []
        for i in 0..<5 {
            eligible.append(
                await env.lever.addOpportunity(name: "Random \(i)", emails: ["r\(i)@x.example"], posting: posting))
        }
        var faults = SandboxFaults()
        faults.latencyMs = 15
        await env.lever.setFaults(faults)
        await env.hubert.setFaults(faults)
        var phase = 0
        for round in 0..<16 {
            if round == 8 {
                for (index, id) in eligible.enumerated() {
                    if let interview = await env.interviews(id).first {
                        await env.hubert.complete(
                            interview.id, grade: index.isMultiple(of: 2) ? .lead : .notQualified, score: 77)
                    }
                }
                phase = 1
            }
            let log = env.directory.appendingPathComponent("run-\(round).log")
            let process = try BinaryRunner.start(
                ["run", "--config", config], environment: env.environment, output: log)
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...260)))
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(phase == 1)
        await env.lever.setFaults(SandboxFaults())
        await env.hubert.setFaults(SandboxFaults())
        for _ in 0..<2 {
            #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        }
        for (index, id) in eligible.enumerated() {
            #expect(await env.interviews(id).count == 1)
            for interview in await env.interviews(id) {
                #expect(await env.hubert.emailsSent[interview.id] == 1)
                if interview.status != "completed" {
                    await env.hubert.complete(
                        interview.id, grade: index.isMultiple(of: 2) ? .lead : .notQualified, score: 77)
                }
            }
        }
        await tick()
        #expect(try await BinaryRunner.run(["run", "--config", config], environment: env.environment).status == 0)
        for id in eligible {
            let notes = await env.lever.notesOf(id).count
            #expect(notes == 1, "opportunity \(id) has \(notes) notes")
        }
    }
}

/// Every named kill point is one the crash test kills at: a new write-and-record gap cannot go untested.
@Suite struct KillPointCoverageTests {
    @Test func everyKillPointIsKilledAtByTheCrashTest() {
        let killed = Set((CrashTests.invitePoints + CrashTests.resultPoints).map(\.0))
        for point in KillPoint.allCases {
            #expect(killed.contains(point), "CrashTests never kills at \(point.rawValue)")
        }
    }
}
