/// The process exit statuses of `docs/cli.md`, named in one place. Every command maps its outcome to one of these.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The pass finished; items it could not handle are under `problems` and in `status`.
    case ok = 0
    /// Wrong command-line usage (swift-argument-parser's own code for a validation error).
    case usage = 64
    /// Temporary: lock held, rate limit or retry budget spent, a service unreachable, stopped by a signal.
    case temporary = 75
    /// A credential was refused: a 401 anywhere, or a 403 on what every pass needs.
    case credentialRefused = 77
    /// Configuration missing or invalid.
    case configuration = 78

    /// The numeric status.
    public var code: Int32 { rawValue }
}
