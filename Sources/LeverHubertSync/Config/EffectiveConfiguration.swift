import Foundation

/// One JSON value of the effective configuration (`check --offline --json`).
public enum ConfigValue: Codable, Sendable, Equatable {
    /// Text (a secret is `"<redacted>"`).
    case string(String)
    /// A whole number.
    case integer(Int)
    /// Any number.
    case number(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// Not set.
    case null
    /// A section of keys.
    case object([String: ConfigValue])

    /// Decodes whichever JSON value is there.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .boolean(b)
        } else if let i = try? c.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            self = .object(try c.decode([String: ConfigValue].self))
        }
    }

    /// Encodes the value as plain JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .boolean(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .object(let o): try c.encode(o)
        }
    }
}

extension AppConfig {
    /// What a secret is shown as.
    public static let redacted = "<redacted>"

    /// The settings a run would use, keyed as the configuration file names them, every secret `"<redacted>"`.
    public func effective() -> [String: ConfigValue] {
        var root: [String: ConfigValue] = [:]
        func set(_ path: String, _ value: ConfigValue) {
            func insert(_ keys: ArraySlice<String>, into object: inout [String: ConfigValue]) {
                guard let key = keys.first else { return }
                if keys.count == 1 {
                    object[key] = value
                    return
                }
                var child: [String: ConfigValue] = [:]
                if case .object(let existing)? = object[key] { child = existing }
                insert(keys.dropFirst(), into: &child)
                object[key] = .object(child)
            }
            insert(
                ArraySlice(path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)), into: &root)
        }
        func text(_ value: String?) -> ConfigValue { value.map(ConfigValue.string) ?? .null }
        func secret(_ value: Secret?) -> ConfigValue { value == nil ? .null : .string(Self.redacted) }
        set("lever.baseURL", .string(lever.baseURL))
        set("lever.apiKey", secret(lever.apiKey))
        set("lever.performAs", text(lever.performAs))
        set("lever.requestsPerSecond", .number(lever.requestsPerSecond))
        set("lever.burst", .integer(lever.burst))
        set("lever.caFile", text(lever.caFile))
        if let oauth = lever.oauth {
            set("lever.oauth.clientId", .string(oauth.clientId))
            set("lever.oauth.clientSecret", secret(oauth.clientSecret))
            set("lever.oauth.refreshToken", secret(oauth.refreshToken))
            set("lever.oauth.tokenURL", .string(oauth.tokenURL))
            set("lever.oauth.tokenFile", .string(oauth.tokenFile))
            set("lever.oauth.authorizeURL", .string(oauth.authorizeURL))
            set("lever.oauth.audience", .string(oauth.audience))
            if let redirect = oauth.redirectURI { set("lever.oauth.redirectURI", .string(redirect)) }
            set("lever.oauth.confidentialAccess", .boolean(oauth.confidentialAccess))
        }
        set("hubert.baseURL", .string(hubert.baseURL))
        set("hubert.apiKey", secret(hubert.apiKey))
        set("hubert.requestsPerSecond", .number(hubert.requestsPerSecond))
        set("hubert.burst", .integer(hubert.burst))
        set("hubert.caFile", text(hubert.caFile))
        set("sync.newApplicantStage", .string(newApplicantStage))
        set("sync.lookbackMinutes", .integer(lookbackMinutes))
        set("sync.concurrency", .integer(concurrency))
        set("sync.requestTimeoutMs", .integer(requestTimeoutMs))
        set("sync.connectTimeoutMs", .integer(connectTimeoutMs))
        set("sync.cacheMinutes", .integer(cacheMinutes))
        set("sync.paused", .boolean(paused))
        set("sync.holdDays", .integer(holdDays))
        set("sync.staleAfterDays", .integer(staleAfterDays))
        set("sync.giveUpAfterDays", .integer(giveUpAfterDays))
        set("sync.passDeadlineMinutes", .integer(passDeadlineMinutes))
        set("sync.unservedTimeoutSeconds", .integer(retry.unservedTimeoutSeconds))
        set("sync.retry.maxAttempts", .integer(retry.maxAttempts))
        set("sync.retry.baseDelayMs", .integer(retry.baseDelayMs))
        set("sync.retry.maxDelayMs", .integer(retry.maxDelayMs))
        set("sync.retry.budget", .integer(retry.budget))
        for grade in HubertGrade.allCases { set("autoMove.\(GradeStages.key(grade))", text(autoMove[grade])) }
        for (posting, stages) in autoMoveByPosting {
            for grade in HubertGrade.allCases where stages[grade] != nil {
                set("autoMove.postings.\(posting).\(GradeStages.key(grade))", text(stages[grade]))
            }
        }
        set("database.path", .string(databasePath))
        set("database.retentionDays", .integer(retentionDays))
        set("healthcheck.url", secret(healthcheckURL))
        return root
    }
}

extension ConfigLoader {
    /// `check --offline`: the file and the environment only, no request. Like `load`, except that a `${VAR}` whose
    /// variable is unset is a warning, not an error (CI validating a GitOps change has no keys): the value is taken
    /// as a placeholder so that everything else (keys, types, names, URLs, key files) is still checked. A key that
    /// has no source at all (no environment variable, `apiKey`, `apiKeyFile` or `oauth`) is still an error.
    public static func loadOffline(path: String?, databaseOverride: String?, environment: [String: String])
        throws -> (config: AppConfig, warnings: [String])
    {
        let file = try loadFile(path: path, environment: environment)
        var filled = environment
        var warnings: [String] = []
        for (key, text) in strings(of: file) {
            for name in unsetVariables(in: text, environment: filled) {
                warnings.append("\(key): environment variable \(name) is not set (not needed offline; needed to run)")
                let url = key.hasSuffix("URL") || key.hasSuffix(".url")
                filled[name] = url && text == "${\(name)}" ? "https://unset.invalid" : "unset-\(name)"
            }
        }
        let resolved = try resolve(file, databaseOverride: databaseOverride, environment: filled)
        return (resolved.config, warnings + resolved.warnings)
    }

    /// Every string value of the file with its dotted key, in key order.
    static func strings(of file: ConfigFile) -> [(key: String, value: String)] {
        guard let data = try? JSONEncoder().encode(file),
            let tree = try? JSONDecoder().decode(JSONTree.self, from: data)
        else { return [] }
        func walk(_ tree: JSONTree, _ path: String) -> [(key: String, value: String)] {
            switch tree {
            case .string(let text): return [(path, text)]
            case .other: return []
            case .object(let object):
                return object.sorted { $0.key < $1.key }.flatMap {
                    walk($0.value, path.isEmpty ? $0.key : path + "." + $0.key)
                }
            }
        }
        return walk(tree, "")
    }

    /// A JSON value as far as `strings(of:)` walks it: objects and strings; anything else is a leaf it skips.
    enum JSONTree: Decodable {
        case string(String)
        case object([String: JSONTree])
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .string(text)
            } else if let object = try? container.decode([String: JSONTree].self) {
                self = .object(object)
            } else {
                self = .other
            }
        }
    }

    /// Names of the `${NAME}` references (without a `:-` fallback) whose variable is unset or empty.
    static func unsetVariables(in text: String, environment: [String: String]) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            let expression = rest[start.upperBound..<end]
            if !expression.contains(":-"), environment[String(expression)]?.isEmpty ?? true {
                names.append(String(expression))
            }
            rest = rest[rest.index(after: end)...]
        }
        return names
    }
}
