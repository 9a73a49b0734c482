import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn. Not Foundation's `Process`: on Linux its `run()` over-reads the dirents
/// of /proc/self/fd and crashes the test process now and then (swift-corelibs-foundation PR #5472; seen here as
/// "Bad pointer dereference" in memmove under `Process.run()` with many descriptors open).
final class Child: @unchecked Sendable {
    enum Termination: Equatable { case exit, uncaughtSignal }

    let processIdentifier: pid_t
    private let lock = NSLock()
    private var waitStatus: Int32?

    /// Starts `path` with `arguments`; `environment` nil inherits ours. stdin is /dev/null, or `stdin` (opened
    /// read-write, so a FIFO opens at once); stdout and stderr go to the files named (created, truncated), or to
    /// /dev/null.
    init(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil, stdout: String? = nil,
        stderr: String? = nil, directory: String? = nil, stdin: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDWR, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let stderr, stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        // Nothing of ours but 0, 1 and 2 goes to the child: an inherited socket would keep a connection a test drops
        // open (what Foundation's `Process` does by walking /proc/self/fd; glibc's closefrom action does it whole).
        _ = Self.addCloseFrom?(&actions, 3)
        // In another working directory through the shell (glibc's addchdir_np is not visible from Swift here).
        let command =
            directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, path] + arguments } ?? [path] + arguments
        let argv = command.map { strdup($0) } + [nil]
        let env = environment ?? ProcessInfo.processInfo.environment
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        // As Foundation's `Process` does: no blocked signals and every handler at its default in the child, whatever
        // the test runner's thread had.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard rc == 0 else { throw NSError(domain: "posix_spawn", code: Int(rc)) }
        processIdentifier = pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), looked up at run time: Swift does not see
    /// declarations behind _GNU_SOURCE.
    private static let addCloseFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
            return unsafeBitCast(
                symbol,
                to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        }()

    /// Reaps the child if it has ended (never blocks).
    private func poll() -> Int32? {
        lock.withLock {
            if let waitStatus { return waitStatus }
            var status: Int32 = 0
            let r = waitpid(processIdentifier, &status, WNOHANG)
            if r == processIdentifier { waitStatus = status }
            return waitStatus
        }
    }

    var isRunning: Bool { poll() == nil }

    /// The exit code, or the signal's number when a signal ended it (as `Process.terminationStatus`).
    var terminationStatus: Int32 {
        guard let status = poll() else { return -1 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// How it ended; nil while it runs.
    var terminationReason: Termination? { poll().map { $0 & 0x7f == 0 ? .exit : .uncaughtSignal } }

    func terminate() { kill(processIdentifier, SIGTERM) }

    /// Waits for the end (polling, so no thread of Swift's pool is blocked) and returns `terminationStatus`.
    func wait() async -> Int32 {
        while isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        return terminationStatus
    }
}
