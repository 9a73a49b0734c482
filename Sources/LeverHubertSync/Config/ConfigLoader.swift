import Foundation
import Yams

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
        if real != asWritten, !fileManager.fileExists(atPath: real),
            !fileManager.fileExists(atPath: TokenFile.lockPath(real)),
            fileManager.fileExists(atPath: asWritten)
        {
            return asWritten
        }
        return real
    }

    /// Days without a result after which `status` calls an invitation stale.
    public static func staleAfterDays(_ file: ConfigFile) -> Int { min(3650, max(1, file.sync?.staleAfterDays ?? 7)) }

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
