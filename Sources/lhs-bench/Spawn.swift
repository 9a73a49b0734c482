import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A finished child process with its resource usage.
struct ChildRun: Sendable {
    var status: Int32
    var wallSeconds: Double
    var cpuSeconds: Double
    var peakRSSMegabytes: Double
    var stdout: String
    var stderr: String
}

/// Spawns a program and waits for it on a dedicated thread (never on Swift's cooperative pool, which the in-process
/// sandboxes need), reading its CPU time and peak RSS from wait4's rusage.
enum Spawn {
    static func run(_ path: String, _ arguments: [String], environment: [String: String]) async throws -> ChildRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out").path, err = dir.appendingPathComponent("err").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let started = Date()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw NSError(domain: "spawn", code: Int(rc)) }
        let child = pid
        let (status, usage): (Int32, rusage) = await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                var usage = rusage()
                _ = wait4(child, &status, 0, &usage)
                continuation.resume(returning: (status, usage))
            }
            thread.start()
        }
        let wall = Date().timeIntervalSince(started)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let result = ChildRun(status: exit, wallSeconds: wall, cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
                              peakRSSMegabytes: Double(usage.ru_maxrss) / 1024,
                              stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                              stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(at: dir)
        return result
    }
}
