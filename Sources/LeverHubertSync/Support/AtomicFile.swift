import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a file atomically without ever writing through a planted symlink or into an existing file: a new
/// temporary file beside it (`O_CREAT|O_EXCL|O_NOFOLLOW`, an unpredictable name), every byte written, fsync, the
/// mode set on the descriptor, then rename over the target. As the OAuth token file is written.
enum AtomicFile {
    /// Writes `bytes` to `path` with `mode`; false when it could not (nothing is left behind then).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) -> Bool {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var fd: Int32 = -1
        var tmp = ""
        for _ in 0..<8 {
            let random = String(UInt64.random(in: .min ... .max), radix: 16)
            tmp = directory + "/." + url.lastPathComponent + ".\(getpid()).\(random).tmp"
            fd = open(tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { return false }
        var renamed = false
        defer { if !renamed { unlink(tmp) } }
        guard fchmod(fd, mode) == 0, writeAll(bytes, to: fd), fsync(fd) == 0 else {
            close(fd)
            return false
        }
        guard close(fd) == 0, rename(tmp, path) == 0 else { return false }
        renamed = true
        return true
    }

    /// Every byte, continuing after partial writes and `EINTR`.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
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
}
