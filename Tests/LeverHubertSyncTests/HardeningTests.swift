import Foundation
import Testing

@testable import LeverHubertSync

/// A TCP listener on 127.0.0.1 that never accepts or answers: a request to it hangs until its timeout, which keeps
/// the binary alive long enough to look at it. The kernel completes the handshake, so `waitForConnection` sees it.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw ConfigError("cannot listen") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    /// Waits until a client has connected (without accepting it); false after `seconds`.
    func waitForConnection(seconds: Int) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, Int32(seconds * 1000)) == 1
    }
}

@Suite struct HardeningTests {
    @Test func aCrashCannotDumpCoreOrBeReadByAnotherProcess() {
        let outcome = Hardening.apply()
        defer { Hardening.setDumpable(true) }  // the test runner itself may need /proc/self later
        #expect(outcome == .init(coreDumpsOff: true, notDumpable: true))
        let limit = Hardening.coreLimit()
        #expect(limit.soft == 0 && limit.hard == 0, "the hard limit too, so no child can raise it")
        #expect(Hardening.isDumpable() == false)
    }

    @Test func theBinaryTurnsCoreDumpsOffBeforeItReadsAKey() async throws {
        let listener = try SilentListener()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-hard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("c.yml").path
        try """
        lever:
          baseURL: http://127.0.0.1:\(listener.port)/v1
          apiKey: ${LEVER_API_KEY}
        hubert:
          baseURL: http://127.0.0.1:\(listener.port)
          apiKey: ${HUBERT_API_KEY}
        sync:
          requestTimeoutMs: 20000
          retry:
            maxAttempts: 1
        database:
          path: \(directory.appendingPathComponent("db.sqlite3").path)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try BinaryRunner.start(
            ["check", "--config", config],
            environment: ["LEVER_API_KEY": "lk-secret", "HUBERT_API_KEY": "hk-secret"],
            output: directory.appendingPathComponent("out"))
        defer { if process.isRunning { process.terminate() } }
        #expect(listener.waitForConnection(seconds: 20), "check sent its first request (keys read)")
        let limits = try String(contentsOfFile: "/proc/\(process.processIdentifier)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? ""
        let fields = line.dropFirst("Max core file size".count).split(separator: " ")
        #expect(fields.prefix(2) == ["0", "0"], "soft and hard core limits are 0: \(line)")
    }

    @Test func versionPrintsTheNameAndVersionAndExitsZero() async throws {
        let result = try await BinaryRunner.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "lever-hubert-sync \(ToolVersion.current)\n")
        #expect(ToolVersion.current == "1.2.0")
    }

    @Test func theMetricsFileNamesTheVersion() {
        let report = PassReport.early(runId: "r", mode: "run", dryRun: false, exitCode: 0, message: "", now: 0)
        let status = StatusReport(checkpoints: [], invitations: .init(), resultsPending: 0, problems: [], runs: [])
        let text = MetricsFile.render(report: report, status: status, lastSuccess: nil, httpCounts: [:], now: 0)
        #expect(text.contains("\nlever_hubert_sync_build_info{version=\"1.2.0\"} 1\n"))
    }
}

@Suite struct OAuthTokenFileTests {
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theRotatedGrantIsWrittenWholeWithMode0600AndNoTemporaryFileLeft() throws {
        let dir = try directory()
        let path = dir.appendingPathComponent("token").path
        try "old-token".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
        let token = String(repeating: "rt-rotated-", count: 10_000)  // larger than the room reserved, and a pipe
        let pending = try TokenFile.Pending(for: path)
        try pending.commit(LeverGrant(refreshToken: token, accessToken: "at-1", accessTokenExpiresAt: 1))
        #expect(try TokenFile.read(path)?.refreshToken == token)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600, "mode \(String(mode, radix: 8))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["token"])
    }

    @Test func roomForTheGrantIsReservedBeforeLeverIsAskedAndTheFileIsCutToLength() throws {
        let dir = try directory()
        let path = dir.appendingPathComponent("token").path
        var names = [".reserved.tmp"]
        let pending = try TokenFile.Pending(for: path, temporaryName: { names.removeFirst() })
        let temporary = dir.appendingPathComponent(".token.reserved.tmp").path
        var info = stat()
        #expect(stat(temporary, &info) == 0)
        #expect(Int(info.st_size) == TokenFile.reservedBytes, "the room is taken before the refresh")
        #expect(Int(info.st_blocks) * 512 >= TokenFile.reservedBytes, "allocated, not a sparse file")
        let grant = LeverGrant(refreshToken: "rt-small", scope: "offline_access")
        try pending.commit(grant)
        #expect(try TokenFile.read(path) == grant)
        #expect(stat(path, &info) == 0)
        #expect(Int(info.st_size) == TokenFile.encode(grant).count, "no zeros left after the grant")
    }

    @Test func aSymlinkPlantedAtTheTemporaryPathIsNotFollowed() throws {
        let dir = try directory()
        let path = dir.appendingPathComponent("token").path
        let victim = dir.appendingPathComponent("victim").path
        try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
        let planted = dir.appendingPathComponent(".token.planted.tmp").path
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: victim)
        var names = [".planted.tmp", ".fresh.tmp"]
        try TokenFile.Pending(for: path, temporaryName: { names.removeFirst() }).commit(
            LeverGrant(refreshToken: "rt-new"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious", "the symlink's target is untouched")
        #expect(try TokenFile.read(path)?.refreshToken == "rt-new")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: planted) == victim)
    }

    @Test func aStaleTemporaryFileFromACrashedRunDoesNotBlock() throws {
        let dir = try directory()
        let path = dir.appendingPathComponent("token").path
        let stale = dir.appendingPathComponent(".token.\(getpid()).tmp").path
        try "half-written".write(toFile: stale, atomically: false, encoding: .utf8)
        var names = [".\(getpid()).tmp", ".next.tmp"]
        try TokenFile.Pending(for: path, temporaryName: { names.removeFirst() }).commit(
            LeverGrant(refreshToken: "rt-after-crash"))
        #expect(try TokenFile.read(path)?.refreshToken == "rt-after-crash")
        // The default name: the pid and 64 random bits.
        try TokenFile.Pending(for: path).commit(LeverGrant(refreshToken: "rt-random-name"))
        #expect(try TokenFile.read(path)?.refreshToken == "rt-random-name")
    }

    @Test func aLastResortExitWaitsForACommitInProgressButNotForever() {
        let inFlight = TokenFile.InFlight()
        #expect(inFlight.waitUntilIdle(seconds: 0))
        inFlight.begin()
        let started = Date()
        #expect(!inFlight.waitUntilIdle(seconds: 0.2), "bounded")
        #expect(Date().timeIntervalSince(started) >= 0.2)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { inFlight.end() }
        #expect(inFlight.waitUntilIdle(seconds: 5), "returns when the commit ends")
        #expect(Date().timeIntervalSince(started) < 3)
    }
}
