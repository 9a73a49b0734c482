import Foundation
import Testing

@testable import LeverHubertSync

/// The key tree is the one list of keys; these tests fail when `ConfigFile`, the JSON Schema or the reference page
/// drifts away from it (a key added to one and not the others).
@Suite struct ConfigSchemaTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let postingId = "f2f01e16-27f8-4711-a728-7d49499795a0"

    /// YAML setting every leaf of `tree` to a sample of its kind (one posting id at a free-form level).
    static func sampleYAML(_ tree: ConfigKeyTree, indent: String = "") -> String {
        switch tree {
        case .value: return ""
        case .anyKey(let element):
            return "\(indent)\(postingId):\n" + sampleYAML(element, indent: indent + "  ")
        case .keys(let keys):
            return keys.sorted { $0.key < $1.key }.map { key, child in
                switch child {
                case .value(.string): "\(indent)\(key): s-\(key)\n"
                case .value(.integer): "\(indent)\(key): 42\n"
                case .value(.number): "\(indent)\(key): 2.5\n"
                case .value(.boolean): "\(indent)\(key): true\n"
                default: "\(indent)\(key):\n" + sampleYAML(child, indent: indent + "  ")
                }
            }.joined()
        }
    }

    /// Every stored property path of a decoded value, and whether it holds a value (nil optionals included).
    static func propertyPaths(_ value: Any, prefix: String = "") -> [String: Bool] {
        var paths: [String: Bool] = [:]
        for child in Mirror(reflecting: value).children {
            guard let label = child.label else { continue }
            let path = prefix.isEmpty ? label : prefix + "." + label
            let unwrapped: Any? =
                Mirror(reflecting: child.value).displayStyle == .optional
                ? Mirror(reflecting: child.value).children.first?.value : child.value
            guard let unwrapped else {
                paths[path] = false
                continue
            }
            switch Mirror(reflecting: unwrapped).displayStyle {
            case .struct:
                paths.merge(propertyPaths(unwrapped, prefix: path)) { $1 }
            case .dictionary:
                for entry in Mirror(reflecting: unwrapped).children {
                    let pair = Array(Mirror(reflecting: entry.value).children)
                    let key = pair.first?.value as? String == postingId ? "*" : "?"
                    paths.merge(propertyPaths(pair[1].value, prefix: path + "." + key)) { $1 }
                }
            default:
                paths[path] = true
            }
        }
        return paths
    }

    @Test func theKeyTreeAndConfigFileKnowTheSameKeysAndEveryValueArrives() throws {
        let file = try ConfigLoader.parse(yaml: Self.sampleYAML(.file))
        let decoded = Self.propertyPaths(file)
        let tree = Set(ConfigKeyTree.file.leaves.map(\.path))
        let onlyDecoded = Set(decoded.keys).subtracting(tree)
        let onlyTree = tree.subtracting(decoded.keys)
        #expect(Set(decoded.keys) == tree, "only in ConfigFile: \(onlyDecoded); only in the tree: \(onlyTree)")
        #expect(
            decoded.filter { !$0.value }.isEmpty,
            "set in the YAML but not decoded: \(decoded.filter { !$0.value }.keys.sorted())")
    }

    /// The schema's leaves (path and kind), checking that every object refuses additional properties.
    static func schemaLeaves(_ schema: [String: Any], prefix: String) throws -> [String: String] {
        let types = (schema["type"] as? [String]) ?? [(schema["type"] as? String) ?? ""]
        let kind = types.first { $0 != "null" } ?? ""
        guard kind == "object" else { return [prefix: kind] }
        #expect(
            schema["additionalProperties"] as? Bool == false, "\(prefix.isEmpty ? "the root" : prefix) allows more keys"
        )
        var leaves: [String: String] = [:]
        for (key, child) in (schema["properties"] as? [String: [String: Any]]) ?? [:] {
            leaves.merge(try schemaLeaves(child, prefix: prefix.isEmpty ? key : prefix + "." + key)) { $1 }
        }
        for (_, child) in (schema["patternProperties"] as? [String: [String: Any]]) ?? [:] {
            leaves.merge(try schemaLeaves(child, prefix: prefix + ".*")) { $1 }
        }
        return leaves
    }

    @Test func theJSONSchemaDescribesExactlyTheKeysTheLoaderAccepts() throws {
        let data = try Data(contentsOf: Self.repository.appendingPathComponent("docs/config.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let leaves = try Self.schemaLeaves(schema, prefix: "")
        let tree = Dictionary(uniqueKeysWithValues: ConfigKeyTree.file.leaves.map { ($0.path, $0.kind.rawValue) })
        #expect(leaves == tree)
    }

    @Test func theReferencePageDocumentsEveryKey() throws {
        let page = try String(
            contentsOf: Self.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for leaf in ConfigKeyTree.file.leaves {
            let written = leaf.path.replacingOccurrences(of: ".*.", with: ".<posting id>.")
            #expect(page.contains("- `\(written)` ("), "docs/configuration.md lacks \(written)")
        }
    }
}

@Suite struct EffectiveConfigurationTests {
    /// Dotted leaf paths of a nested value, a posting id written `*`.
    static func leaves(_ object: [String: ConfigValue], prefix: String = "") -> [String: ConfigValue] {
        var out: [String: ConfigValue] = [:]
        for (key, value) in object {
            let name = prefix == "autoMove.postings" ? "*" : key
            let path = prefix.isEmpty ? name : prefix + "." + name
            if case .object(let child) = value {
                out.merge(leaves(child, prefix: path)) { $1 }
            } else {
                out[path] = value
            }
        }
        return out
    }

    @Test func theEffectiveConfigurationUsesTheFileKeysAndRedactsEverySecret() throws {
        let yaml = ConfigSchemaTests.sampleYAML(.file)
            .replacingOccurrences(of: "s-baseURL", with: "https://api.example.com")
            .replacingOccurrences(of: "s-tokenURL", with: "https://auth.example.com/token")
            .replacingOccurrences(of: "s-authorizeURL", with: "https://auth.example.com/authorize")
            .replacingOccurrences(of: "s-redirectURI", with: "http://127.0.0.1:8723/callback")
            .replacingOccurrences(of: "s-url", with: "https://hc.example.com/secret-ping")
            .replacingOccurrences(of: "s-caFile", with: "/dev/null")
            .replacingOccurrences(of: "s-apiKeyFile", with: "/dev/null")
        var file = try ConfigLoader.parse(yaml: yaml)
        file.lever?.apiKeyFile = nil
        file.hubert?.apiKeyFile = nil
        file.sync?.lookbackMinutes = 5
        let config = try ConfigLoader.resolve(file, environment: [:]).config
        let effective = Self.leaves(config.effective())
        let known = Set(ConfigKeyTree.file.leaves.map(\.path))
        #expect(Set(effective.keys).subtracting(known).isEmpty, "\(Set(effective.keys).subtracting(known))")
        for path in ConfigKeyTree.secretPaths {
            #expect(effective[path] == .string(AppConfig.redacted), "\(path) is not redacted")
        }
        let text = String(decoding: try JSONEncoder().encode(config.effective()), as: UTF8.self)
        for secret in ["s-apiKey", "s-clientSecret", "s-refreshToken", "secret-ping"] {
            #expect(!text.contains(secret))
        }
    }
}
