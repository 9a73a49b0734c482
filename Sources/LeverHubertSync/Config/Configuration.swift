import Foundation

/// A credential. Its description never shows the value, so it cannot leak through logs or string interpolation.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself; read it only where it goes on the wire.
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// Stages (names or ids) to move an opportunity to, per grade. Nil means no move for that grade.
public struct GradeStages: Codable, Sendable, Equatable {
    public var lead: String?
    public var passed: String?
    public var notQualified: String?
    public init(lead: String? = nil, passed: String? = nil, notQualified: String? = nil) {
        self.lead = lead
        self.passed = passed
        self.notQualified = notQualified
    }
    /// The configuration key of a grade (`notQualified`; the grade's raw value is Hubert's `not_qualified`).
    public static func key(_ grade: HubertGrade) -> String {
        switch grade {
        case .lead: "lead"
        case .passed: "passed"
        case .notQualified: "notQualified"
        }
    }
    /// The stage configured for a grade.
    public subscript(grade: HubertGrade) -> String? {
        switch grade {
        case .lead: lead
        case .passed: passed
        case .notQualified: notQualified
        }
    }
}

/// The configuration file as written (every key optional); `AppConfig` is what a run uses.
public struct ConfigFile: Codable, Sendable, Equatable {
    /// The `lever.oauth` section; every key is described in docs/configuration.md.
    public struct OAuth: Codable, Sendable, Equatable {
        public var clientId: String?
        public var clientSecret: String?
        public var refreshToken: String?
        public var tokenURL: String?
        public var tokenFile: String?
        public var authorizeURL: String?
        public var audience: String?
        public var redirectURI: String?
        public var confidentialAccess: Bool?
    }
    /// The `lever` section; every key is described in docs/configuration.md.
    public struct Lever: Codable, Sendable, Equatable {
        public var baseURL: String?
        public var apiKey: String?
        public var apiKeyFile: String?
        public var oauth: OAuth?
        public var performAs: String?
        public var requestsPerSecond: Double?
        public var burst: Int?
        public var caFile: String?
    }
    /// The `hubert` section; every key is described in docs/configuration.md.
    public struct Hubert: Codable, Sendable, Equatable {
        public var baseURL: String?
        public var apiKey: String?
        public var apiKeyFile: String?
        public var requestsPerSecond: Double?
        public var burst: Int?
        public var caFile: String?
    }
    /// The `sync` section; every key is described in docs/configuration.md.
    public struct Sync: Codable, Sendable, Equatable {
        public var newApplicantStage: String?
        public var lookbackMinutes: Int?
        public var concurrency: Int?
        public var requestTimeoutMs: Int?
        public var connectTimeoutMs: Int?
        public var cacheMinutes: Int?
        public var paused: Bool?
        public var holdDays: Int?
        public var staleAfterDays: Int?
        public var giveUpAfterDays: Int?
        public var passDeadlineMinutes: Int?
        public var unservedTimeoutSeconds: Int?
        public var retry: RetryPolicyFile?
    }
    /// The `sync.retry` section; every key is described in docs/configuration.md.
    public struct RetryPolicyFile: Codable, Sendable, Equatable {
        public var maxAttempts: Int?
        public var baseDelayMs: Int?
        public var maxDelayMs: Int?
        public var budget: Int?
    }
    /// The `autoMove` section; every key is described in docs/configuration.md.
    public struct AutoMove: Codable, Sendable, Equatable {
        public var lead: String?
        public var passed: String?
        public var notQualified: String?
        public var postings: [String: GradeStages]?
    }
    /// The `database` section; every key is described in docs/configuration.md.
    public struct Database: Codable, Sendable, Equatable {
        public var path: String?
        public var retentionDays: Int?
    }
    /// The `healthcheck` section; every key is described in docs/configuration.md.
    public struct Healthcheck: Codable, Sendable, Equatable {
        public var url: String?
    }
    /// `lever:` (the section's keys are listed in `ConfigKeyTree.file`).
    public var lever: Lever?
    /// `hubert:`.
    public var hubert: Hubert?
    /// `sync:`.
    public var sync: Sync?
    /// `autoMove:`.
    public var autoMove: AutoMove?
    /// `database:`.
    public var database: Database?
    /// `healthcheck:`.
    public var healthcheck: Healthcheck?
    /// The empty file: every setting at its default.
    public init() {}
}

/// The settings of a run, resolved from the file, `${VAR}` references and environment overrides.
public struct AppConfig: Sendable {
    /// Lever OAuth (instead of an API key): the refresh token rotates on every refresh and is kept in `tokenFile`.
    public struct LeverOAuthSettings: Sendable {
        public var clientId: String
        public var clientSecret: Secret
        public var refreshToken: Secret?
        public var tokenURL: String
        public var tokenFile: String
        /// Lever's authorization endpoint (`authorize`).
        public var authorizeURL: String = "https://auth.lever.co/authorize"
        /// The API the grant is for (`audience`, with its trailing slash).
        public var audience: String = "https://api.lever.co/v1/"
        /// The redirect URI registered with Lever (`authorize`; a loopback URI for its listener).
        public var redirectURI: String?
        /// Whether `authorize` asks for confidential access (`confidential:access:admin`).
        public var confidentialAccess: Bool = false
        /// Where the record that the configured refresh token was spent is kept (outside the database's directory).
        public var spentMarker = SpentTokenMarker(directory: nil)
    }
    public struct LeverSettings: Sendable {
        public var baseURL: String
        /// The API key (HTTP Basic); nil when OAuth is configured.
        public var apiKey: Secret?
        public var oauth: LeverOAuthSettings?
        public var performAs: String?
        public var requestsPerSecond: Double
        public var burst: Int
        public var caFile: String?
    }
    public struct HubertSettings: Sendable {
        public var baseURL: String
        public var apiKey: Secret
        public var requestsPerSecond: Double
        public var burst: Int
        public var caFile: String?
    }
    public var lever: LeverSettings
    public var hubert: HubertSettings
    public var newApplicantStage: String
    public var lookbackMinutes: Int
    public var concurrency: Int
    public var requestTimeoutMs: Int
    public var connectTimeoutMs: Int
    /// How long stages, the perform-as user and template states are trusted before Lever/Hubert are asked again.
    public var cacheMinutes: Int
    /// When true, `run` does nothing but report that it is paused (state is kept).
    public var paused: Bool
    /// A held-back candidate (a cause somebody can fix) is decided again on every pass for this many days, then
    /// given up and reported once.
    public var holdDays: Int
    /// An invitation with no result after this many days is reported as stale by `status`.
    public var staleAfterDays: Int
    /// A write-back step (tag, note, link, move) or an unconfirmed intent that keeps failing is retried on every
    /// pass for this many days, then given up and reported.
    public var giveUpAfterDays: Int
    /// A pass stops taking new work after this many minutes, records what it finished and exits 75.
    public var passDeadlineMinutes: Int
    /// Finished items and runs older than this many days are pruned.
    public var retentionDays: Int
    /// A healthchecks.io-style ping URL (`/start`, then success or `/<exit code>`); never fails the run.
    public var healthcheckURL: Secret?
    public var retry: RetryPolicy
    public var autoMove: GradeStages
    public var autoMoveByPosting: [String: GradeStages]
    public var databasePath: String

    /// Defaults of every optional setting.
    public enum Defaults {
        public static let leverBaseURL = "https://api.lever.co/v1"
        public static let hubertBaseURL = "https://api.hubert.ai"
        public static let leverRequestsPerSecond = 8.0
        public static let leverBurst = 10
        public static let hubertRequestsPerSecond = 4.0
        public static let hubertBurst = 4
        public static let newApplicantStage = "New applicant"
        public static let lookbackMinutes = 10
        public static let concurrency = 8
        public static let databasePath = "lever-hubert-sync.sqlite3"
    }
}

/// A stage the configuration names, with where it is named.
public struct ConfiguredStage: Sendable, Equatable {
    /// The key that names it (`sync.newApplicantStage`, `autoMove.lead`, `autoMove.postings.<id>.passed`).
    public var key: String
    /// The stage's name or id as written.
    public var nameOrId: String
    /// The grade it is the move target of (nil for the New applicant stage).
    public var grade: HubertGrade?
    /// The posting it is an override for (nil for the defaults).
    public var postingId: String?
}

extension AppConfig {
    /// Every stage the configuration names, in one list: the New applicant stage, the default moves, the per-posting
    /// overrides (sorted). `run` resolves them and `check` checks them from this one list.
    public var configuredStages: [ConfiguredStage] {
        var stages = [
            ConfiguredStage(key: "sync.newApplicantStage", nameOrId: newApplicantStage, grade: nil, postingId: nil)
        ]
        for grade in HubertGrade.allCases {
            if let stage = autoMove[grade] {
                stages.append(
                    ConfiguredStage(
                        key: "autoMove.\(GradeStages.key(grade))", nameOrId: stage, grade: grade,
                        postingId: nil))
            }
        }
        for (posting, grades) in autoMoveByPosting.sorted(by: { $0.key < $1.key }) {
            for grade in HubertGrade.allCases {
                guard let stage = grades[grade] else { continue }
                stages.append(
                    ConfiguredStage(
                        key: "autoMove.postings.\(posting).\(GradeStages.key(grade))", nameOrId: stage,
                        grade: grade, postingId: posting))
            }
        }
        return stages
    }
}

/// A configuration problem: exit 78. The message names the key, never a secret's value.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
