import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

@Suite struct SecretsTests {
    /// Greps everything the tool leaves behind — logs, --json output, the database — for the keys.
    @Test func noKeyInLogsJsonOrDatabase() async throws {
        let env = try await TestEnvironment()
        let posting = await env.taggedPosting()
        let config = env.directory.appendingPathComponent("lhs.yml").path
        try env.yaml(autoMove: "autoMove:\n  lead: Phone screen").write(
            toFile: config, atomically: true, encoding: .utf8)
        var outputs: [String] = []
        func run(_ args: [String], _ environment: [String: String]) async throws {
            for format in ["json", "human"] {
                let r = try await BinaryRunner.run(
                    args + ["--config", config, "--log-level", "trace", "--log-format", format],
                    environment: environment)
                outputs.append(r.stdout + r.stderr)
            }
        }
        try await run(["run", "--json"], env.environment)
        await tick()
        let ada = await env.lever.addOpportunity(name: "Ada Lovelace", emails: ["ada@example.com"], posting: posting)
        var faults = SandboxFaults()
        faults.serverErrorRate = 0.3
        await env.lever.setFaults(faults)
        try await run(["run", "--json"], env.environment)
        await env.lever.setFaults(SandboxFaults())
        if let interview = await env.interviews(ada).first {
            await env.hubert.complete(interview.id, grade: .lead, score: 90)
        }
        try await run(["run"], env.environment)
        try await run(["check", "--json"], env.environment)
        try await run(["status", "--json"], env.environment)
        var wrong = env.environment
        wrong["LEVER_API_KEY"] = "wrong-" + TestEnvironment.leverKey
        try await run(["run", "--json"], wrong)
        wrong = env.environment
        wrong["HUBERT_API_KEY"] = "wrong-" + TestEnvironment.hubertKey
        try await run(["run", "--json"], wrong)

        var haystack = outputs.joined(separator: "\n")
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: env.databasePath + suffix) {
                haystack += String(decoding: data, as: UTF8.self)
            }
        }
        #expect(haystack.contains("run.id"), "the logs were captured")
        #expect(!haystack.isEmpty)
        let needles = [
            TestEnvironment.leverKey, TestEnvironment.hubertKey,
            Data((TestEnvironment.leverKey + ":").utf8).base64EncodedString(), "ada@example.com", "Lovelace",
        ]
        for needle in needles {
            #expect(!haystack.contains(needle), "found a secret or personal data: \(needle.prefix(6))…")
        }
    }
}

@Suite struct TLSTests {
    /// A throw-away CA and a server certificate for 127.0.0.1, made with the openssl command.
    static func makeCertificates(in dir: URL) async throws -> (ca: String, cert: String, key: String) {
        let ca = dir.appendingPathComponent("ca.pem").path
        let caKey = dir.appendingPathComponent("ca.key").path
        let key = dir.appendingPathComponent("server.key").path
        let csr = dir.appendingPathComponent("server.csr").path
        let cert = dir.appendingPathComponent("server.pem").path
        let ext = dir.appendingPathComponent("ext.cnf").path
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: ext, atomically: true, encoding: .utf8)
        for args in [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2", "-subj",
                "/CN=lhs test CA",
            ],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
            [
                "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2",
                "-extfile", ext,
            ],
        ] {
            let status = try await run("/usr/bin/openssl", args)
            try #require(status == 0, "openssl \(args[0]) failed")
        }
        return (ca, cert, key)
    }

    static func run(_ path: String, _ args: [String]) async throws -> Int32 {
        await (try Child(path, args)).wait()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func aCustomCAIsTrustedAndWithoutItTheServerIsRefused() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let (ca, cert, key) = try await Self.makeCertificates(in: dir)
        var server: Child?
        var port = 0
        for _ in 0..<5 {
            port = Int.random(in: 20_000...60_000)
            let p = try Child(
                "/usr/bin/openssl",
                ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-www", "-quiet"])
            // Wait until it listens (on a loaded machine s_server takes a while to start), or has exited.
            for _ in 0..<100 where p.isRunning && !Self.listens(port) { try await Task.sleep(for: .milliseconds(100)) }
            if p.isRunning && Self.listens(port) {
                server = p
                break
            }
            if p.isRunning { p.terminate() }
        }
        let running = try #require(server)
        defer { running.terminate() }

        var trusted = TransportOptions()
        trusted.caFile = ca
        trusted.connectTimeoutMs = 20_000
        let url = "https://127.0.0.1:\(port)/"
        // s_server serves one connection at a time and, on a loaded machine, may still be busy with the readiness
        // probe: a timeout (28) is tried again; any other failure (a trust failure is 60) fails the test.
        var answer: HTTPResponseMessage?
        for attempt in 1...3 where answer == nil {
            do {
                answer = try await CurlTransport(options: trusted).send(HTTPRequestMessage(method: .get, url: url))
            } catch TransportFailure.notSent(let code, _) where code == 28 && attempt < 3 {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(answer?.status == 200)

        do {
            _ = try await CurlTransport(options: TransportOptions()).send(HTTPRequestMessage(method: .get, url: url))
            Issue.record("a server signed by an unknown CA must be refused")
        } catch let failure as TransportFailure {
            guard case .notSent(let code, _) = failure else {
                Issue.record("expected notSent, got \(failure)")
                return
            }
            // 60 (CURLE_PEER_FAILED_VERIFICATION) as a rule; 35 when the server drops the refused handshake first.
            #expect([60, 35].contains(code), "refused in the handshake: \(code)")
        }
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    static func listens(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    @Test func anUnreachableServiceIsNotSent() async throws {
        do {
            _ = try await CurlTransport().send(
                HTTPRequestMessage(method: .post, url: "http://127.0.0.1:9/v1/x", body: Data("{}".utf8)))
            Issue.record("port 9 should refuse")
        } catch let failure as TransportFailure {
            guard case .notSent = failure else {
                Issue.record("a refused connection is provably not sent: \(failure)")
                return
            }
        }
    }
}
