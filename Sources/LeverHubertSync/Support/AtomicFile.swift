import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The one home of the file-writing rules: a file is replaced atomically without ever writing through a planted
/// symlink or into an existing file — a new temporary file beside it (`O_CREAT|O_EXCL|O_NOFOLLOW`, an unpredictable
/// name), every byte written, fsync, the mode set on the descriptor, rename over the target, the directory fsynced.
/// The metrics file, the funnel page and the OAuth token file (`TokenFile.Pending`) are written so.
public enum AtomicFile {
    /// `.<pid>.<64 random bits in hex>.tmp`: the default temporary name's suffix.
    public static func uniqueSuffix() -> String {
        ".\(getpid()).\(String(UInt64.random(in: .min ... .max), radix: 16)).tmp"
    }

    /// Writes every byte, continuing after partial writes and `EINTR`; false on any other error.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Creates a new temporary file beside `path`, `.<its name><temporaryName()>`, with
    /// `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600: neither a planted symlink nor an existing file is ever opened; a
    /// name taken is passed over for the next one (8 tries). nil with `errno` set when none could be created.
    static func createTemporary(beside path: String, temporaryName: () -> String) -> (fd: Int32, path: String)? {
        let url = URL(fileURLWithPath: path)
        let prefix = url.deletingLastPathComponent().path + "/." + url.lastPathComponent
        for _ in 0..<8 {
            let temporary = prefix + temporaryName()
            let fd = open(temporary, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 { return (fd, temporary) }
            if errno != EEXIST { return nil }
        }
        return nil
    }

    /// fsyncs the directory holding `path`, so that a rename or a creation in it survives a power loss.
    static func syncDirectory(of path: String) {
        let directoryFD = open(
            URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Writes `bytes` to `path` with `mode`; false when it could not (nothing is left behind then).
    /// `temporaryName` gives the temporary file's suffix (tests plant a symlink at the first one).
    static func write(
        _ bytes: [UInt8], to path: String, mode: mode_t, temporaryName: () -> String = uniqueSuffix
    ) -> Bool {
        guard case (let fd, let temporary)? = createTemporary(beside: path, temporaryName: temporaryName) else {
            return false
        }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        guard fchmod(fd, mode) == 0, writeAll(bytes, to: fd), fsync(fd) == 0 else {
            close(fd)
            return false
        }
        guard close(fd) == 0, rename(temporary, path) == 0 else { return false }
        renamed = true
        syncDirectory(of: path)
        return true
    }
}
