import Foundation
import Logging
import Sandbox
import Testing

@testable import LeverHubertSync

/// Recruiters must never see a second invitation or a second note, nor a candidate who silently got nothing —
/// whatever the network, Lever, Hubert or the machine does.
@Suite struct ExactlyOnceTests {
    static let autoMove = "autoMove:\n  lead: Phone screen\n  passed: Onsite interview"

    /// A named set of faults on both sandboxes.
    struct FaultCase: Sendable, CustomTestStringConvertible {
        var name: String
        var faults: SandboxFaults
        /// Share of answers to writes that a keep-alive proxy in front of both services drops after the write was
        /// applied (half before the first byte, half mid-answer); 0 for no proxy.
        var keepAliveDropRate: Double = 0
        var testDescription: String { name }

        static var all: [FaultCase] {
            var cases: [FaultCase] = []
            var f = SandboxFaults()
            f.serverErrorRate = 0.3
            cases.append(FaultCase(name: "5xx at 30%", faults: f))
            f = SandboxFaults()
            f.lostResponseRate = 0.35
            f.lostResponseDelayMs = 500
            cases.append(FaultCase(name: "write applied then response lost", faults: f))
            f = SandboxFaults()
            f.latencyMs = 40
            cases.append(FaultCase(name: "latency", faults: f))
            f = SandboxFaults()
            f.malformedRate = 0.3
            cases.append(FaultCase(name: "malformed JSON bodies", faults: f))
            f = SandboxFaults()
            f.storm429 = 6
            cases.append(FaultCase(name: "429 storm with Retry-After", faults: f))
            f = SandboxFaults()
            f.storm429 = 6
            f.stormRetryAfter = false
            cases.append(FaultCase(name: "429 storm without Retry-After", faults: f))
            f = SandboxFaults()
            f.serverErrorRate = 0.15
            f.lostResponseRate = 0.2
            f.lostResponseDelayMs = 500
            f.malformedRate = 0.1
            f.latencyMs = 5
            f.storm429 = 3
            cases.append(FaultCase(name: "a storm of all of them", faults: f))
            cases.append(
                FaultCase(
                    name: "keep-alive connections dropped after writes", faults: SandboxFaults(),
                    keepAliveDropRate: 0.4))
            f = SandboxFaults()
            f.serverErrorRate = 0.1
            f.latencyMs = 5
            cases.append(FaultCase(name: "keep-alive drops with 5xx and latency", faults: f, keepAliveDropRate: 0.25))
            return cases
        }
    }

    /// Passes until one finishes cleanly (exit 0, nothing failed), at most `limit`.
    static func settle(_ env: TestEnvironment, limit: Int = 25, proxies: Proxies? = nil) async throws -> [PassReport] {
        var reports: [PassReport] = []
        for _ in 0..<limit {
            let report = try await env.pass(autoMove: autoMove) {
                $0.sync?.requestTimeoutMs = 250
                proxies?.route(&$0)
            }
            reports.append(report)
            #expect([0, 75].contains(report.exitCode), "unexpected exit \(report.exitCode): \(report.message ?? "")")
            if report.exitCode == 0 && report.counts.failed == 0 { return reports }
            await tick()
        }
        Issue.record("no clean pass after \(limit) passes: \(reports.map { "\($0.exitCode) \($0.message ?? "")" })")
        return reports
    }

    /// Everything a recruiter could see twice or miss: one interview and e-mail per eligible applicant, one note,
    /// the right tag, the link and the move.
    static func verify(_ env: TestEnvironment, eligible: [String], grades: [String: HubertGrade]) async throws {
        for id in eligible {
            let interviews = await env.interviews(id)
            #expect(interviews.count == 1, "opportunity \(id) has \(interviews.count) interviews")
            for interview in interviews { #expect(await env.hubert.emailsSent[interview.id] == 1) }
            guard let grade = grades[id], let interview = interviews.first else { continue }
            let o = try #require(await env.lever.opportunity(id))
            let notes = await env.lever.notesOf(id).count
            #expect(notes == 1, "opportunity \(id) has \(notes) notes")
            #expect(o.tags == [grade.leverTag])
            #expect(o.links == ["https://app.hubert.ai/applications/\(interview.id)"])
            let expectedStage =
                grade == .lead
                ? TestEnvironment.phoneScreen : grade == .passed ? TestEnvironment.onsite : "applicant-new"
            #expect(o.stage == expectedStage)
            #expect(o.stageChanges.count == (grade == .notQualified ? 1 : 2), "moved exactly once")
        }
    }

    /// Keep-alive proxies in front of both sandboxes that drop answers to writes at random.
    struct Proxies: Sendable {
        let lever: KeepAliveProxy
        let hubert: KeepAliveProxy

        init(_ env: TestEnvironment, dropRate: Double) async throws {
            let rule: KeepAliveProxy.Rule = { entry in
                guard entry.method != "GET", Double.random(in: 0..<1) < dropRate else { return nil }
                return Bool.random() ? .beforeResponse : .midResponse
            }
            lever = try KeepAliveProxy(upstreamPort: await env.leverServer.port, rule: rule)
            hubert = try KeepAliveProxy(upstreamPort: await env.hubertServer.port, rule: rule)
        }

        func route(_ file: inout ConfigFile) {
            file.lever?.baseURL = lever.origin + "/v1"
            file.hubert?.baseURL = hubert.origin
        }

        func stop() {
            lever.stop()
            hubert.stop()
        }
    }

    @Test("exactly once under an injected fault", arguments: FaultCase.all)
    func exactlyOnceUnderFault(_ fault: FaultCase) async throws {
        let env = try await TestEnvironment()
        let proxies = fault.keepAliveDropRate > 0 ? try await Proxies(env, dropRate: fault.keepAliveDropRate) : nil
        defer { proxies?.stop() }
        let posting = await env.taggedPosting()
        _ = try await env.pass(autoMove: Self.autoMove)
        await tick()
        var eligible: [String] = []
        for i in 0..<8 {
            eligible.append(
                await env.lever.addOpportunity(name: "Person \(i)", emails: ["p\(i)@example.com"], posting: posting))
        }
        await env.lever.setFaults(fault.faults)
        await env.hubert.setFaults(fault.faults)
        _ = try await Self.settle(env, proxies: proxies)

        var grades: [String: HubertGrade] = [:]
        for (index, id) in eligible.enumerated() {
            guard let interview = await env.interviews(id).first else { continue }
            let grade = HubertGrade.allCases[index % 3]
            grades[id] = grade
            await env.hubert.complete(interview.id, grade: grade, score: Double(50 + index))
        }
        await tick()
        await env.lever.setFaults(fault.faults)
        await env.hubert.setFaults(fault.faults)
        _ = try await Self.settle(env, proxies: proxies)

        await env.lever.setFaults(SandboxFaults())
        await env.hubert.setFaults(SandboxFaults())
        let final = try await env.pass(autoMove: Self.autoMove) { proxies?.route(&$0) }
        #expect(final.exitCode == 0)
        #expect(final.actions.isEmpty, "everything was done under the fault: \(final.actions)")
        #expect(grades.count == eligible.count, "every applicant was invited")
        try await Self.verify(env, eligible: eligible, grades: grades)
    }

    @Test func aStaleOffsetTokenRestartsTheWindow() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        var ids: [String] = []
        for i in 0..<150 {
            ids.append(await env.lever.addOpportunity(name: "P \(i)", emails: ["p\(i)@example.com"], posting: posting))
        }
        var faults = SandboxFaults()
        faults.staleTokens = 1
        await env.lever.setFaults(faults)
        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(report.counts.invitationsSent == 150)
        for id in ids { #expect(await env.interviews(id).count == 1) }
    }

    /// A trouble that lasts the whole pass: which service, which fault, and what the stop message must name.
    struct LastingTrouble: Sendable, CustomTestStringConvertible {
        var service: Service
        var faults: SandboxFaults
        var mentions: String
        var testDescription: String { "\(service.rawValue) \(mentions)" }

        static var all: [LastingTrouble] {
            var down = SandboxFaults()
            down.serverErrorRate = 1
            var malformed = SandboxFaults()
            malformed.malformedRate = 1
            return [
                LastingTrouble(service: .hubert, faults: down, mentions: "hubert"),
                LastingTrouble(service: .lever, faults: malformed, mentions: "malformed"),
            ]
        }
    }

    @Test(
        "trouble that lasts stops the pass with 75, keeps the checkpoint, and the next pass finishes the work",
        arguments: LastingTrouble.all)
    func lastingTroubleLeavesTheWindowUnfinished(_ trouble: LastingTrouble) async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let before = try await env.store().checkpoint(SyncEngine.leverStream)
        let ada = await env.lever.addOpportunity(name: "Ada", emails: ["a@example.com"], posting: posting)
        func setFaults(_ faults: SandboxFaults) async {
            switch trouble.service {
            case .lever: await env.lever.setFaults(faults)
            case .hubert: await env.hubert.setFaults(faults)
            }
        }
        await setFaults(trouble.faults)
        let report = try await env.pass()
        #expect(report.exitCode == 75)
        #expect(report.message?.contains(trouble.mentions) == true, "\(report.message ?? "")")
        #expect(try await env.store().checkpoint(SyncEngine.leverStream) == before, "the window is never skipped")
        await setFaults(SandboxFaults())
        let next = try await env.pass()
        #expect(next.exitCode == 0)
        #expect(await env.interviews(ada).count == 1, "the unfinished invitation is sent by the next pass")
    }

    @Test func theRunsRetryBudgetIsFinite() async throws {
        let env = try await TestEnvironment()
        _ = await env.taggedPosting()
        var storm = SandboxFaults()
        storm.serverErrorRate = 1
        await env.lever.setFaults(storm)
        let started = Date()
        let report = try await env.pass { file in
            file.sync?.retry = .init(maxAttempts: 100, baseDelayMs: 1, maxDelayMs: 2, budget: 7)
        }
        #expect(report.exitCode == 75)
        #expect(report.message?.contains("budget") == true)
        #expect(report.requests.lever == 8, "one try and seven retries")
        #expect(Date().timeIntervalSince(started) < 60, "finite: nowhere near 100 attempts with backoff")
    }

    @Test func clientRateBudgetAvoids429s() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        for i in 0..<20 {
            _ = await env.lever.addOpportunity(name: "P \(i)", emails: ["p\(i)@example.com"], posting: posting)
        }
        await env.hubert.setRateLimit((8, 8))
        let config = try env.config()
        var tuned = config
        tuned.hubert.requestsPerSecond = 8
        tuned.hubert.burst = 4
        let session = try env.session(tuned)
        defer { session.close() }
        let wiring = session.wire()
        let report = await session.pass(mode: .live, wiring: wiring)
        #expect(report.exitCode == 0)
        #expect(report.counts.invitationsSent == 20)
        let snapshot = await wiring.runtime.requests.snapshot()
        #expect(
            snapshot[RequestCountKey(.hubert, "429"), default: 0] == 0,
            "the client-side bucket keeps Hubert under its limit")
    }
}
