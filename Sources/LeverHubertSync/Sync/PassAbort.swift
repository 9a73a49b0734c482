/// Failures that end the whole pass; each maps to one exit status.
public enum PassAbort: Error, Sendable, CustomStringConvertible, Equatable {
    /// 401/403: the credential was refused (exit 77).
    case credentialsRefused(service: Service, status: Int)
    /// The service stayed unreachable or overloaded, or the retry budget ran out (exit 75).
    case unavailable(service: Service, reason: String)
    /// Configuration missing or invalid (exit 78).
    case configuration(String)
    /// Another run holds the lock (exit 75).
    case locked(String)
    /// The Lever OAuth grant cannot be used or kept (refused, revoked, missing, its token file unwritable): exit 77,
    /// with what happened and what a person does about it. Never carries a token.
    case grant(String)
    /// The pass reached its deadline (`sync.passDeadlineMinutes`): it stopped taking new work (exit 75).
    case deadline(minutes: Int)

    public var description: String {
        switch self {
        case .credentialsRefused(let service, let status): "\(service.rawValue) refused the credential (HTTP \(status))"
        case .unavailable(let service, let reason): "\(service.rawValue) unavailable: \(reason)"
        case .configuration(let text): "configuration: \(text)"
        case .locked(let text): text
        case .grant(let text): "lever OAuth grant: \(text)"
        case .deadline(let minutes):
            "the pass reached its deadline of \(minutes) min: it took no new work, recorded what it finished and "
                + "left the checkpoints where they were"
        }
    }

    /// The exit status for this failure.
    public var status: ExitStatus {
        switch self {
        case .credentialsRefused, .grant: .credentialRefused
        case .unavailable, .locked, .deadline: .temporary
        case .configuration: .configuration
        }
    }

    /// The process exit status for this failure.
    public var exitCode: Int32 { status.code }
}
