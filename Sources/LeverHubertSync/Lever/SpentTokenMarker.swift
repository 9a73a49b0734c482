import Foundation

/// A record, outside the database's directory, that the configured refresh token was presented to Lever: a refresh
/// token is good for one use, so a process that finds no token file (started with another `--database`, or with
/// another `lever.oauth.tokenFile`) must not present it a second time (Auth0 would revoke the whole grant).
/// Kept in `$XDG_STATE_HOME/lever-hubert-sync` or `$HOME/.local/state/lever-hubert-sync`, named by a hash of the
/// client id and the token (never the token), holding the token file it went to. The marker is claimed atomically
/// (`O_CREAT|O_EXCL`) before the token is presented: of two processes, whatever their token files, one presents it.
///
/// The name is a 64-bit FNV-1a hash: Foundation on Linux offers no SHA-2 (CryptoKit is Apple-only, swift-crypto a
/// dependency of its own). The hashed input is a high-entropy one-time token, so the name reveals nothing usable.
public struct SpentTokenMarker: Sendable {
    /// The directory of markers; nil when the environment names no home.
    public let directory: String?

    public init(environment: [String: String]) {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            directory = state + "/lever-hubert-sync"
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            directory = home + "/.local/state/lever-hubert-sync"
        } else {
            directory = nil
        }
    }

    public init(directory: String?) { self.directory = directory }

    func path(clientId: String, token: String) -> String? {
        directory.map { $0 + "/spent-refresh-token-" + String(FNV1a.hash(clientId + "\u{0}" + token), radix: 16) }
    }

    /// What claiming the configured token gave.
    public enum Claim: Sendable, Equatable {
        /// This process may present the token: nobody did before, and nobody else will.
        case claimed
        /// The token was presented already; its successor went to this token file (empty when not known).
        case spent(into: String)
        /// No marker can be written (no home, a read-only or full directory): the token is not presented.
        case unavailable(String)
    }

    /// Claims the configured token for one presentation: creates the marker with `O_CREAT|O_EXCL|O_NOFOLLOW`,
    /// writes the token file its successor goes to, fsyncs it and its directory.
    public func claim(clientId: String, token: String, tokenFile: String) -> Claim {
        guard let directory, let path = path(clientId: clientId, token: token) else {
            return .unavailable("neither XDG_STATE_HOME nor HOME names a directory")
        }
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(path, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0o600)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            if errno == EEXIST {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                return .spent(into: text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return .unavailable("\(directory): \(reason)")
        }
        let absolute = RunLock.canonical(tokenFile)
        let written = AtomicFile.writeAll(Array((absolute + "\n").utf8), to: fd) && fsync(fd) == 0
        close(fd)
        guard written else {
            // The marker exists (so nobody else presents the token), but says nothing of where the successor went.
            return .unavailable("\(directory): the marker \(path) could not be written")
        }
        AtomicFile.syncDirectory(of: path)
        return .claimed
    }

    /// Gives a claim back when the token was provably not exchanged (no successor came back): the next pass may
    /// present it again. Never called once a successor exists, even one that could not be written.
    public func release(clientId: String, token: String) {
        guard let path = path(clientId: clientId, token: token) else { return }
        unlink(path)
    }
}
