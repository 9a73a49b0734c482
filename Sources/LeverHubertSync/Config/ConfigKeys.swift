import Foundation
import Yams

/// The tree of every key the configuration file may hold: the one list the strict-key check, `check --offline`,
/// `docs/config.schema.json` and `docs/configuration.md` agree with (tests compare each of them with this tree).
public indirect enum ConfigKeyTree: Sendable, Equatable {
    /// A value of one kind.
    case value(Kind)
    /// A mapping with exactly these keys, all optional.
    case keys([String: ConfigKeyTree])
    /// A mapping with free-form keys (posting ids), each holding `element`.
    case anyKey(ConfigKeyTree)

    /// The kind of a leaf value.
    public enum Kind: String, Sendable, Equatable {
        /// Text (`${VAR}` expanded).
        case string
        /// A whole number.
        case integer
        /// Any number.
        case number
        /// `true` or `false`.
        case boolean
    }

    /// The configuration file's tree.
    public static let file: ConfigKeyTree = {
        let string = ConfigKeyTree.value(.string)
        let int = ConfigKeyTree.value(.integer)
        let number = ConfigKeyTree.value(.number)
        let bool = ConfigKeyTree.value(.boolean)
        let grades = ConfigKeyTree.keys(["lead": string, "passed": string, "notQualified": string])
        return .keys([
            "lever": .keys([
                "baseURL": string, "apiKey": string, "apiKeyFile": string, "performAs": string,
                "requestsPerSecond": number, "burst": int, "caFile": string,
                "oauth": .keys([
                    "clientId": string, "clientSecret": string, "refreshToken": string,
                    "tokenURL": string, "tokenFile": string, "authorizeURL": string, "audience": string,
                    "redirectURI": string, "confidentialAccess": bool,
                ]),
            ]),
            "hubert": .keys([
                "baseURL": string, "apiKey": string, "apiKeyFile": string,
                "requestsPerSecond": number, "burst": int, "caFile": string,
            ]),
            "sync": .keys([
                "newApplicantStage": string, "lookbackMinutes": int, "concurrency": int, "requestTimeoutMs": int,
                "connectTimeoutMs": int, "cacheMinutes": int, "paused": bool, "holdDays": int, "staleAfterDays": int,
                "giveUpAfterDays": int, "passDeadlineMinutes": int, "unservedTimeoutSeconds": int,
                "retry": .keys(["maxAttempts": int, "baseDelayMs": int, "maxDelayMs": int, "budget": int]),
            ]),
            "autoMove": .keys(["lead": string, "passed": string, "notQualified": string, "postings": .anyKey(grades)]),
            "database": .keys(["path": string, "retentionDays": int]),
            "healthcheck": .keys(["url": string]),
        ])
    }()

    /// Keys whose values are credentials (or carry one, like a ping URL): `check --offline --json` redacts them.
    public static let secretPaths: Set<String> = [
        "lever.apiKey", "lever.oauth.clientSecret", "lever.oauth.refreshToken", "hubert.apiKey", "healthcheck.url",
    ]

    /// Every leaf's dotted path with its kind; a free-form level is written `*`.
    public var leaves: [(path: String, kind: Kind)] {
        func walk(_ tree: ConfigKeyTree, _ prefix: String) -> [(path: String, kind: Kind)] {
            switch tree {
            case .value(let kind): return [(prefix, kind)]
            case .keys(let keys):
                return keys.sorted { $0.key < $1.key }.flatMap {
                    walk($0.value, prefix.isEmpty ? $0.key : prefix + "." + $0.key)
                }
            case .anyKey(let element): return walk(element, prefix + ".*")
            }
        }
        return walk(self, "")
    }

    /// Refuses the first key of `node` that the tree does not know, naming its full path and the nearest known key.
    /// Values are never part of the message.
    public func check(_ node: Node?, path: [String] = []) throws {
        guard let node, case .mapping(let mapping) = node else { return }
        switch self {
        case .value:
            return  // a mapping where a value belongs is a type error, reported by the decoder
        case .anyKey(let element):
            for (key, value) in mapping {
                try element.check(value, path: path + [key.string ?? "?"])
            }
        case .keys(let known):
            for (key, value) in mapping {
                let name = key.string ?? "?"
                guard let child = known[name] else {
                    let fullPath = (path + [name]).joined(separator: ".")
                    if let near = Self.nearest(to: name, in: known.keys) {
                        throw ConfigError("\(fullPath): unknown key; did you mean \(near)?")
                    }
                    throw ConfigError("\(fullPath): unknown key")
                }
                try child.check(value, path: path + [name])
            }
        }
    }

    /// The known key closest to `name`: same letters but for case, a prefix of at least four characters, or a few
    /// edits away (at most a quarter of the longer name, and at most 3). Nil when nothing is close.
    public static func nearest(to name: String, in candidates: some Sequence<String>) -> String? {
        let lower = name.lowercased()
        var best: (key: String, distance: Int)?
        for candidate in candidates.sorted() {
            let other = candidate.lowercased()
            var distance = levenshtein(lower, other)
            let limit = min(3, max(1, max(lower.count, other.count) / 4))
            let prefix = min(lower.count, other.count) >= 4 && (other.hasPrefix(lower) || lower.hasPrefix(other))
            if distance > limit && !prefix { continue }
            if prefix { distance = min(distance, limit) }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        return best?.key
    }

    /// The edit distance (insertions, deletions, substitutions) between two strings.
    public static func levenshtein(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
