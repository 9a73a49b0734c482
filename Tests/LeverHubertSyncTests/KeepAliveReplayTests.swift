import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// libcurl re-sends a request by itself when a reused keep-alive connection dies before the first response byte —
/// POST included. A Lever note must never be re-sent below the ledger: on a busy host that is a second note a
/// recruiter sees. These tests put a keep-alive proxy in front of the Lever sandbox that applies a request and then
/// drops the connection, deterministically.
@Suite struct KeepAliveReplayTests {
    /// The first note POST is applied by Lever, then its connection is closed as `drop` says.
    static func dropFirstNote(_ drop: KeepAliveProxy.Drop) -> KeepAliveProxy.Rule {
        let fired = Locked(false)
        return { entry in
            guard entry.method == "POST", entry.path.hasSuffix("/notes") else { return nil }
            return fired.withLock { done in
                if done { return nil }
                done = true
                return drop
            }
        }
    }

    /// A note POST on one worker whose connection a GET has just left open.
    static func postNoteAfterKeepAliveGet(freshConnection: Bool) async throws -> (
        log: [KeepAliveProxy.Entry], error: (any Error)?, notes: Int
    ) {
        let lever = LeverSandbox(apiKey: TestEnvironment.leverKey)
        let server = try await SandboxHTTPServer(service: lever)
        let proxy = try KeepAliveProxy(upstreamPort: await server.port, rule: dropFirstNote(.beforeResponse))
        defer { proxy.stop() }
        let posting = await lever.addPosting(text: "P", tags: [])
        let id = await lever.addOpportunity(name: "Ada", emails: ["a@example.com"], posting: posting)
        var options = TransportOptions()
        options.maxConcurrent = 1
        options.totalTimeoutMs = 15_000
        let transport = CurlTransport(options: options)
        let auth = "Basic " + Data((TestEnvironment.leverKey + ":").utf8).base64EncodedString()
        let get = HTTPRequestMessage(method: .get, url: proxy.origin + "/v1/stages", headers: [("Authorization", auth)])
        #expect(try await transport.send(get).status == 200)
        let post = HTTPRequestMessage(
            method: .post, url: proxy.origin + "/v1/opportunities/\(id)/notes",
            headers: [("Authorization", auth), ("Content-Type", "application/json")],
            body: Data(#"{"value":"hello"}"#.utf8), freshConnection: freshConnection)
        var failure: (any Error)?
        do { _ = try await transport.send(post) } catch { failure = error }
        await server.stop()
        return (proxy.log, failure, await lever.notesOf(id).count)
    }

    @Test func libcurlReplaysAPostOnAReusedConnectionThatDied() async throws {
        // The hazard itself, so that this suite proves something: without a fresh connection libcurl sends the
        // note twice and reports success.
        let outcome = try await Self.postNoteAfterKeepAliveGet(freshConnection: false)
        let posts = outcome.log.filter { $0.method == "POST" }
        #expect(outcome.log.first?.method == "GET")
        #expect(posts.first?.connection == outcome.log.first?.connection, "the POST reused the GET's connection")
        #expect(posts.count == 2, "libcurl re-sent the POST by itself: \(outcome.log)")
        #expect(outcome.notes == 2)
        #expect(outcome.error == nil)
    }

    @Test func aNonIdempotentRequestIsNeverReplayedByLibcurl() async throws {
        let outcome = try await Self.postNoteAfterKeepAliveGet(freshConnection: true)
        let posts = outcome.log.filter { $0.method == "POST" }
        #expect(posts.count == 1, "sent exactly once: \(outcome.log)")
        #expect(posts.first?.connection != outcome.log.first?.connection, "on a connection of its own")
        #expect(posts.first?.indexOnConnection == 1)
        #expect(outcome.notes == 1)
        guard case .maybeSent? = outcome.error as? TransportFailure else {
            Issue.record(
                "a lost answer is 'maybe sent', for the ledger to read back: \(String(describing: outcome.error))")
            return
        }
    }

    @Test(
        "a note whose connection dies after Lever applied it is read back, never posted twice",
        arguments: [KeepAliveProxy.Drop.beforeResponse, .midResponse])
    func droppedNoteAnswerIsReadBack(_ drop: KeepAliveProxy.Drop) async throws {
        let env = try await TestEnvironment()
        let proxy = try KeepAliveProxy(upstreamPort: await env.leverServer.port, rule: Self.dropFirstNote(drop))
        defer { proxy.stop() }
        let viaProxy: (inout ConfigFile) -> Void = { $0.lever?.baseURL = proxy.origin + "/v1" }
        let posting = await env.taggedPosting()
        #expect(try await env.pass(tweak: viaProxy).exitCode == 0)
        await tick()
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        #expect(try await env.pass(tweak: viaProxy).counts.invitationsSent == 1)
        let interview = try #require(await env.interviews(ada).first)
        await env.hubert.complete(interview.id, grade: .lead, score: 88)
        await tick()

        let report = try await env.pass(tweak: viaProxy)
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        #expect(await env.lever.notesOf(ada).count == 1, "exactly one note")
        let noteRequests = proxy.log.filter { $0.path.hasSuffix("/notes") }
        #expect(noteRequests.map(\.method) == ["POST", "GET"], "posted once, then read back: \(noteRequests)")
        #expect(noteRequests.first?.dropped == drop)
        #expect(report.counts.failed == 0, "the read-back confirmed the note in the same pass: \(report.problems)")

        let again = try await env.pass(tweak: viaProxy)
        #expect(again.actions.isEmpty, "nothing left to do: \(again.actions)")
        #expect(await env.lever.notesOf(ada).count == 1)
    }
}
