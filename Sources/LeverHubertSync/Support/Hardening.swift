import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Process hardening applied before any key is read: no core dump, and (on Linux) not dumpable, so neither a crash
/// nor another process of the same user (ptrace, `/proc/<pid>/mem`) can copy a key or token out of memory.
public enum Hardening {
    /// What `apply()` achieved, for logs and tests.
    public struct Outcome: Sendable, Equatable {
        /// The core-file size limit is 0 (soft and hard).
        public var coreDumpsOff: Bool
        /// The process is marked not dumpable (`PR_SET_DUMPABLE` 0); always false where that does not exist.
        public var notDumpable: Bool
    }

    /// Turns core dumps off (soft and hard limit 0, so no child can raise it again) and marks the process not
    /// dumpable. Idempotent; never fails the process: the outcome says what took effect.
    @discardableResult
    public static func apply() -> Outcome {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        #if os(Linux)
            let coreOff = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0
        #else
            let coreOff = setrlimit(RLIMIT_CORE, &limit) == 0
        #endif
        return Outcome(coreDumpsOff: coreOff, notDumpable: setDumpable(false))
    }

    /// The core-file size limits (soft, hard) of this process.
    public static func coreLimit() -> (soft: UInt64, hard: UInt64) {
        var limit = rlimit()
        #if os(Linux)
            _ = getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
        #else
            _ = getrlimit(RLIMIT_CORE, &limit)
        #endif
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Whether this process is dumpable (`PR_GET_DUMPABLE`); nil where that cannot be asked.
    public static func isDumpable() -> Bool? {
        guard let prctl = prctlFunction else { return nil }
        let getDumpable: Int32 = 3  // PR_GET_DUMPABLE
        let value = prctl(getDumpable, 0, 0, 0, 0)
        return value < 0 ? nil : value != 0
    }

    /// Sets the dumpable flag; returns whether the call succeeded. Tests use it to undo `apply()`.
    @discardableResult
    public static func setDumpable(_ dumpable: Bool) -> Bool {
        guard let prctl = prctlFunction else { return false }
        let setDumpable: Int32 = 4  // PR_SET_DUMPABLE
        return prctl(setDumpable, dumpable ? 1 : 0, 0, 0, 0) == 0
    }

    /// `prctl(2)` is variadic in C, which Swift cannot call directly. Every Linux ABI this tool runs on (x86-64,
    /// AArch64) passes the first five integer arguments of a variadic call in the same registers as a fixed one, so
    /// the symbol is called through a fixed five-argument signature.
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    private static let prctlFunction: Prctl? = {
        #if os(Linux)
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "prctl") else { return nil }
            return unsafeBitCast(symbol, to: Prctl.self)
        #else
            return nil
        #endif
    }()
}
