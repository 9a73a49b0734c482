import Foundation
import Yams

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

/// Reads and validates the configuration.
public enum ConfigLoader {
    /// Where the configuration file is looked for when `--config` is not given.
    public static func defaultPath(environment: [String: String]) -> (path: String, explicit: Bool) {
        if let path = environment["LHS_CONFIG"], !path.isEmpty { return (path, true) }
        return ("lever-hubert-sync.yml", false)
    }

    /// Parses YAML text into the file form. An empty document is the empty configuration. A syntax error names its
    /// line and column only (never the text there: a key may stand on it); an unknown key is refused by its path.
    public static func parse(yaml: String) throws -> ConfigFile {
        if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return ConfigFile() }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(YAMLSyntax.message(error, in: yaml))
        } catch {
            throw ConfigError("configuration file: YAML syntax error")
        }
        guard let root, root.null == nil else { return ConfigFile() }
        guard case .mapping = root else {
            throw ConfigError("configuration file: the top level must be a mapping of keys")
        }
        try ConfigKeyTree.file.check(root)
        do {
            return try YAMLDecoder().decode(ConfigFile.self, from: root)
        } catch let error as DecodingError {
            throw ConfigError(describe(error))
        } catch {
            throw ConfigError("configuration file: a value has the wrong type")
        }
    }

    /// A decoding error as `path: expected <kind>`, never showing the value (it may be a secret).
    static func describe(_ error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        case .keyNotFound(let key, let c):
            return "\((c.codingPath + [key]).map(\.stringValue).joined(separator: ".")): missing"
        @unknown default: return "configuration file: a value has the wrong type"
        }
        let path = context.codingPath.map(\.stringValue)
        let generic = path.enumerated().map { index, key in
            index == 2 && path.starts(with: ["autoMove", "postings"]) ? "*" : key
        }.joined(separator: ".")
        let kind = ConfigKeyTree.file.leaves.first { $0.path == generic }?.kind
        let expected =
            switch kind {
            case .string: "text"
            case .integer: "a whole number"
            case .number: "a number"
            case .boolean: "true or false"
            case nil: "a mapping of keys"
            }
        return "\(path.isEmpty ? "configuration file" : path.joined(separator: ".")): expected \(expected)"
    }

    /// Replaces `${VAR}` (and `${VAR:-default}`) with the environment's values; an unset variable is an error.
    public static func expand(_ text: String, key: String, environment: [String: String]) throws -> String {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigError("\(key): unterminated ${ in value")
            }
            let expression = rest[start.upperBound..<end]
            let name: Substring
            var fallback: Substring?
            if let sep = expression.range(of: ":-") {
                name = expression[..<sep.lowerBound]
                fallback = expression[sep.upperBound...]
            } else {
                name = expression
            }
            if let value = environment[String(name)], !value.isEmpty {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw ConfigError("\(key): environment variable \(name) is not set")
            }
            rest = rest[rest.index(after: end)...]
        }
        return output + rest
    }

    /// Loads the configuration: the file (if any), then the environment overrides, then validation.
    /// Returns warnings (for example a key file readable by others) alongside.
    public static func load(path: String?, databaseOverride: String?, environment: [String: String])
        throws -> (config: AppConfig, warnings: [String])
    {
        return try resolve(
            loadFile(path: path, environment: environment), databaseOverride: databaseOverride,
            environment: environment)
    }

    /// Reads the configuration file: `path`, else `$LHS_CONFIG`, else `lever-hubert-sync.yml` when it exists.
    /// An explicitly named file that does not exist is an error; no file at the default place is the empty file.
    public static func loadFile(path: String?, environment: [String: String]) throws -> ConfigFile {
        let (candidate, explicit) = path.map { ($0, true) } ?? defaultPath(environment: environment)
        guard FileManager.default.fileExists(atPath: candidate) else {
            if explicit { throw ConfigError("configuration file \(candidate) does not exist") }
            return ConfigFile()
        }
        guard let data = FileManager.default.contents(atPath: candidate), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError("cannot read configuration file \(candidate)")
        }
        return try parse(yaml: text)
    }

    /// The database path: `--database`, else `$LHS_DATABASE`, else `database.path`, else the default.
    /// Needs no credentials, so `status` can use it without them.
    public static func databasePath(_ file: ConfigFile, databaseOverride: String?, environment: [String: String]) throws
        -> String
    {
        if let databaseOverride { return databaseOverride }
        if let value = environment["LHS_DATABASE"]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty {
            return value
        }
        if let raw = file.database?.path {
            let expanded = try expand(raw, key: "database.path", environment: environment).trimmingCharacters(
                in: .whitespaces)
            if !expanded.isEmpty { return expanded }
        }
        return AppConfig.Defaults.databasePath
    }

    /// The default token file: beside the database's real path (`RunLock.canonical`, as its lock), so that every
    /// way of naming one database (a relative path from another directory, a symlink) finds one token file. A
    /// token file an earlier release left beside the path as written is still used while there is none at the
    /// real path (the grant in it is the live one).
    static func defaultTokenFile(_ databasePath: String) -> String {
        let suffix = ".lever-refresh-token"
        let real = RunLock.canonical(databasePath) + suffix
        let asWritten = RunLock.canonical(databasePath + suffix)
        let fileManager = FileManager.default
        if real != asWritten, !fileManager.fileExists(atPath: real), !fileManager.fileExists(atPath: real + ".lock"),
            fileManager.fileExists(atPath: asWritten)
        {
            return asWritten
        }
        return real
    }

    /// Days without a result after which `status` calls an invitation stale.
    public static func staleAfterDays(_ file: ConfigFile) -> Int { min(3650, max(1, file.sync?.staleAfterDays ?? 7)) }

    /// Turns the file form into run settings, applying `${VAR}` expansion and environment overrides.
    public static func resolve(_ file: ConfigFile, databaseOverride: String? = nil, environment: [String: String])
        throws -> (config: AppConfig, warnings: [String])
    {
        var warnings: [String] = []
        func value(_ raw: String?, _ key: String) throws -> String? {
            guard let raw else { return nil }
            let expanded = try expand(raw, key: key, environment: environment).trimmingCharacters(in: .whitespaces)
            return expanded.isEmpty ? nil : expanded
        }
        func env(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                return nil
            }
            return value
        }
        func secret(inline: String?, file keyFile: String?, envName: String, key: String) throws -> Secret {
            if let value = env(envName) { return Secret(value) }
            if let value = try value(inline, "\(key).apiKey") { return Secret(value) }
            if let path = try value(keyFile, "\(key).apiKeyFile") {
                guard let data = FileManager.default.contents(atPath: path),
                    let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                    !text.isEmpty
                else {
                    throw ConfigError("\(key).apiKeyFile: cannot read a key from \(path)")
                }
                if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                    let mode = attributes[.posixPermissions] as? Int, mode & 0o007 != 0 || mode & 0o020 != 0
                {
                    // World-readable, or writable by the group: a Kubernetes Secret mounted with fsGroup (0440) or a
                    // systemd credential is group-readable by design and draws no warning.
                    warnings.append(
                        "\(key).apiKeyFile \(path) is readable by other users (mode \(String(mode, radix: 8))); chmod 600 it"
                    )
                }
                return Secret(text)
            }
            throw ConfigError("\(key).apiKey is missing: set \(envName), \(key).apiKey or \(key).apiKeyFile")
        }

        let leverBase =
            try env("LEVER_BASE_URL") ?? value(file.lever?.baseURL, "lever.baseURL") ?? AppConfig.Defaults.leverBaseURL
        let hubertBase =
            try env("HUBERT_BASE_URL") ?? value(file.hubert?.baseURL, "hubert.baseURL")
            ?? AppConfig.Defaults.hubertBaseURL
        let leverKey = env("LEVER_BASE_URL") != nil ? "lever.baseURL (from LEVER_BASE_URL)" : "lever.baseURL"
        try validateBaseURL(leverBase, key: leverKey)
        let leverBaseURL = try leverAPIBase(leverBase, key: leverKey)
        try validateBaseURL(hubertBase, key: "hubert.baseURL")

        let databasePath = try databasePath(file, databaseOverride: databaseOverride, environment: environment)
        var oauth: AppConfig.LeverOAuthSettings?
        if let o = file.lever?.oauth {
            guard let clientId = try value(o.clientId, "lever.oauth.clientId"),
                let clientSecret = try value(o.clientSecret, "lever.oauth.clientSecret")
            else {
                throw ConfigError("lever.oauth needs clientId and clientSecret")
            }
            let tokenURL = try value(o.tokenURL, "lever.oauth.tokenURL") ?? "https://auth.lever.co/oauth/token"
            try validateBaseURL(tokenURL, key: "lever.oauth.tokenURL")
            let tokenFile = try value(o.tokenFile, "lever.oauth.tokenFile") ?? defaultTokenFile(databasePath)
            let refresh = try value(o.refreshToken, "lever.oauth.refreshToken").map(Secret.init)
            // No refresh token and no token file is not a configuration error: `authorize` makes the first grant,
            // and a pass without one exits 77 saying so.
            var settings = AppConfig.LeverOAuthSettings(
                clientId: clientId, clientSecret: Secret(clientSecret), refreshToken: refresh, tokenURL: tokenURL,
                tokenFile: tokenFile)
            if let authorizeURL = try value(o.authorizeURL, "lever.oauth.authorizeURL") {
                try validateBaseURL(authorizeURL, key: "lever.oauth.authorizeURL")
                settings.authorizeURL = authorizeURL
            }
            if let audience = try value(o.audience, "lever.oauth.audience") { settings.audience = audience }
            if let redirect = try value(o.redirectURI, "lever.oauth.redirectURI") {
                guard let url = URL(string: redirect), let scheme = url.scheme?.lowercased(),
                    scheme == "https" || scheme == "http", url.host != nil
                else {
                    throw ConfigError("lever.oauth.redirectURI: not an http(s) URL")
                }
                settings.redirectURI = redirect
            }
            settings.confidentialAccess = o.confidentialAccess ?? false
            settings.spentMarker = SpentTokenMarker(environment: environment)
            oauth = settings
        }
        let lever = AppConfig.LeverSettings(
            baseURL: leverBaseURL,
            apiKey: oauth != nil && env("LEVER_API_KEY") == nil && file.lever?.apiKey == nil
                && file.lever?.apiKeyFile == nil
                ? nil
                : try secret(
                    inline: file.lever?.apiKey, file: file.lever?.apiKeyFile, envName: "LEVER_API_KEY", key: "lever"),
            oauth: oauth,
            performAs: try value(file.lever?.performAs, "lever.performAs"),
            requestsPerSecond: file.lever?.requestsPerSecond ?? AppConfig.Defaults.leverRequestsPerSecond,
            burst: file.lever?.burst ?? AppConfig.Defaults.leverBurst,
            caFile: try value(file.lever?.caFile, "lever.caFile"))
        let hubert = AppConfig.HubertSettings(
            baseURL: hubertBase,
            apiKey: try secret(
                inline: file.hubert?.apiKey, file: file.hubert?.apiKeyFile, envName: "HUBERT_API_KEY", key: "hubert"),
            requestsPerSecond: file.hubert?.requestsPerSecond ?? AppConfig.Defaults.hubertRequestsPerSecond,
            burst: file.hubert?.burst ?? AppConfig.Defaults.hubertBurst,
            caFile: try value(file.hubert?.caFile, "hubert.caFile"))
        for (key, ca) in [("lever.caFile", lever.caFile), ("hubert.caFile", hubert.caFile)] {
            if let ca, !FileManager.default.isReadableFile(atPath: ca) {
                throw ConfigError("\(key): cannot read \(ca)")
            }
        }
        guard (0.01...1_000_000).contains(lever.requestsPerSecond),
            (0.01...1_000_000).contains(hubert.requestsPerSecond)
        else {
            throw ConfigError("requestsPerSecond must be between 0.01 and 1000000")
        }

        var retry = RetryPolicy()
        if let r = file.sync?.retry {
            // Bounded so that no delay or count built from them can overflow.
            retry.maxAttempts = min(100, max(1, r.maxAttempts ?? retry.maxAttempts))
            retry.baseDelayMs = min(3_600_000, max(0, r.baseDelayMs ?? retry.baseDelayMs))
            retry.maxDelayMs = min(3_600_000, max(retry.baseDelayMs, r.maxDelayMs ?? retry.maxDelayMs))
            retry.budget = min(1_000_000, max(0, r.budget ?? retry.budget))
        }
        retry.unservedTimeoutSeconds = min(86_400, max(1, file.sync?.unservedTimeoutSeconds ?? 120))
        let lookback = file.sync?.lookbackMinutes ?? AppConfig.Defaults.lookbackMinutes
        guard (0...10_080).contains(lookback) else {
            throw ConfigError("sync.lookbackMinutes must be between 0 and 10080 (a week)")
        }

        var byPosting: [String: GradeStages] = [:]
        for (posting, stages) in file.autoMove?.postings ?? [:] {
            byPosting[posting] = GradeStages(
                lead: try value(stages.lead, "autoMove.postings.\(posting).lead"),
                passed: try value(stages.passed, "autoMove.postings.\(posting).passed"),
                notQualified: try value(stages.notQualified, "autoMove.postings.\(posting).notQualified"))
        }
        if let url = try value(file.healthcheck?.url, "healthcheck.url") {
            try validateBaseURL(url, key: "healthcheck.url")
        }
        let config = AppConfig(
            lever: lever, hubert: hubert,
            newApplicantStage: try value(file.sync?.newApplicantStage, "sync.newApplicantStage")
                ?? AppConfig.Defaults.newApplicantStage,
            lookbackMinutes: lookback,
            concurrency: min(64, max(1, file.sync?.concurrency ?? AppConfig.Defaults.concurrency)),
            requestTimeoutMs: max(100, file.sync?.requestTimeoutMs ?? 30_000),
            connectTimeoutMs: max(100, file.sync?.connectTimeoutMs ?? 10_000),
            cacheMinutes: min(10_080, max(0, file.sync?.cacheMinutes ?? 60)),
            paused: file.sync?.paused ?? false,
            holdDays: min(3650, max(1, file.sync?.holdDays ?? 28)),
            staleAfterDays: staleAfterDays(file),
            giveUpAfterDays: min(3650, max(1, file.sync?.giveUpAfterDays ?? 7)),
            passDeadlineMinutes: min(1440, max(1, file.sync?.passDeadlineMinutes ?? 30)),
            retentionDays: min(36_500, max(30, file.database?.retentionDays ?? 365)),
            healthcheckURL: try value(file.healthcheck?.url, "healthcheck.url").map(Secret.init),
            retry: retry,
            autoMove: GradeStages(
                lead: try value(file.autoMove?.lead, "autoMove.lead"),
                passed: try value(file.autoMove?.passed, "autoMove.passed"),
                notQualified: try value(file.autoMove?.notQualified, "autoMove.notQualified")),
            autoMoveByPosting: byPosting,
            databasePath: databasePath)
        return (config, warnings)
    }

    /// https is required; http only for loopback hosts.
    public static func validateBaseURL(_ text: String, key: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw ConfigError("\(key) is not a valid URL")
        }
        switch scheme {
        case "https": return
        case "http":
            if isLoopback(host) { return }
            throw ConfigError("\(key): http:// is allowed only for loopback hosts; use https://")
        default:
            throw ConfigError("\(key): unsupported scheme \(scheme)")
        }
    }

    /// Lever's API root: a base URL without a path (`https://api.lever.co`) gets `/v1`; one ending in `/v1` is kept;
    /// any other path (`/v2`, `/api`) is refused, since every request this tool sends is a v1 request.
    public static func leverAPIBase(_ text: String, key: String = "lever.baseURL") throws -> String {
        guard let components = URLComponents(string: text) else { throw ConfigError("\(key) is not a valid URL") }
        guard components.query == nil, components.fragment == nil else {
            throw ConfigError("\(key): a base URL takes no query or fragment")
        }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let path = components.path
        if path.isEmpty || path.allSatisfy({ $0 == "/" }) { return trimmed + "/v1" }
        if trimmed.hasSuffix("/v1") { return trimmed }
        throw ConfigError("\(key): the path must be empty or end in /v1 (the Lever API version this tool speaks)")
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
