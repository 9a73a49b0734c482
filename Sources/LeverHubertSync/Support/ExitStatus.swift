/// The process exit statuses of `docs/cli.md` (and `demo`'s 1, which cron never sees), named in one place. Every command maps its outcome to one of these;
/// the executable turns it into the process's status in one place (`ExitStatus.exitCode`).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The pass finished; items it could not handle are under `problems` and in `status`.
    case ok = 0
    /// `demo` only: one of its passes did not finish with 0 (that pass's own status is in its report), or the demo
    /// failed in a way none of the other statuses names.
    case demoFailed = 1
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

    /// The status a report carries as a number (`PassReport.exitCode`, `CheckReport.exitCode`). Every number the
    /// tool reports is one of the cases; any other would be a failure nobody named, which is read as temporary.
    public init(reported code: Int32) {
        self = ExitStatus(rawValue: code) ?? .temporary
    }
}
