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
/// sandboxes need). CPU time comes from wait4's rusage. Peak RSS does not: posix_spawn shares the parent's memory
/// until exec, and Linux folds that into the child's ru_maxrss, so a benchmark process holding 100,000 sandbox
/// opportunities would be charged to the child. The child's own peak is its VmHWM, sampled every 10 ms.
enum Spawn {
    static func run(_ path: String, _ arguments: [String], environment: [String: String]) async throws -> ChildRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out").path
        let err = dir.appendingPathComponent("err").path
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
        let peak = PeakSampler(pid: child)
        let (status, usage): (Int32, rusage) = await withCheckedContinuation { continuation in
            let sampler = Thread {
                while !peak.finished {
                    peak.sample()
                    usleep(10_000)
                }
            }
            sampler.start()
            let thread = Thread {
                var status: Int32 = 0
                var usage = rusage()
                var info = siginfo_t()
                // Wait for the exit without reaping, take a last sample, then reap with rusage.
                _ = waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT)
                peak.sample()
                peak.finished = true
                _ = wait4(child, &status, 0, &usage)
                continuation.resume(returning: (status, usage))
            }
            thread.start()
        }
        let wall = Date().timeIntervalSince(started)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let result = ChildRun(
            status: exit, wallSeconds: wall, cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            peakRSSMegabytes: peak.peakKilobytes / 1024,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(at: dir)
        return result
    }
}

/// Reads a process's VmHWM (peak resident set of its current image) from /proc.
final class PeakSampler: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var peak: Double = 0
    private var done = false

    init(pid: pid_t) { self.pid = pid }

    var finished: Bool {
        get {
            lock.lock()
            defer { lock.unlock() }
            return done
        }
        set {
            lock.lock()
            done = newValue
            lock.unlock()
        }
    }

    var peakKilobytes: Double {
        lock.lock()
        defer { lock.unlock() }
        return peak
    }

    func sample() {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let value = Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            lock.lock()
            peak = max(peak, value)
            lock.unlock()
        }
    }
}
