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
        var env = ["PATH": "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let outURL = tmp.appendingPathComponent("out")
        let errURL = tmp.appendingPathComponent("err")
        let child = try Child(
            (executable ?? binary).path, arguments, environment: env, stdout: outURL.path, stderr: errURL.path,
            directory: directory?.path)
        let status = await child.wait()
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: tmp)
        return Result(status: status, stdout: out, stderr: err)
    }

    /// Starts the binary and returns the child (for kill tests); stdout and stderr both go to `output`; stdin is
    /// `stdin` (a FIFO a test writes to) or /dev/null.
    static func start(_ arguments: [String], environment: [String: String], output: URL, stdin: String? = nil) throws
        -> Child
    {
        var env = ["PATH": "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        return try Child(
            binary.path, arguments, environment: env, stdout: output.path, stderr: output.path, stdin: stdin)
    }
}
