import Foundation

/// Runs the built `lever-hubert-sync` binary as cron would, without blocking Swift's cooperative threads.
enum BinaryRunner {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    /// The binary next to the test bundle (the test target depends on the executable, so it is built).
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["LHS_BINARY"] { return URL(fileURLWithPath: path) }
        var dir = Bundle.module.bundleURL.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("lever-hubert-sync")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                ".build/debug/lever-hubert-sync")
    }

    /// Runs the binary with `arguments` in `directory`, with exactly `environment` (plus PATH), and waits.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
        executable: URL? = nil
    ) async throws -> Result {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let outURL = tmp.appendingPathComponent("out")
        let errURL = tmp.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try Spawning.run(process) } catch { continuation.resume(throwing: error) }
        }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: tmp)
        return Result(status: status, stdout: out, stderr: err)
    }

    /// Starts the binary and returns the process (for kill tests).
    static func start(_ arguments: [String], environment: [String: String], output: URL) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        process.environment = env
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try Spawning.run(process)
        return process
    }
}

/// Foundation's `Process.run()` on Linux is not safe to call from several threads at once (seen here: a crash in
/// its memmove while another test spawned); every test spawn goes through this one lock.
enum Spawning {
    private static let lock = NSLock()
    static func run(_ process: Process) throws { try lock.withLock { try process.run() } }
}
