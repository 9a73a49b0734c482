import Foundation

/// Builds query strings: each value percent-encoded once, keys repeatable (`posting_id=a&posting_id=b`).
public struct QueryString: Sendable {
    private var parts: [String] = []
    public init() {}

    /// Characters left as they are in a query value (RFC 3986 unreserved).
    static let unreserved: CharacterSet = {
        var set = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        set.insert(charactersIn: "-._~")
        return set
    }()

    /// Adds `key=value` with the value percent-encoded.
    public mutating func add(_ key: String, _ value: String) {
        let encoded = value.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? value
        parts.append("\(key)=\(encoded)")
    }

    /// Adds an opaque paging token as received: it is already URL-encoded, so existing `%XX` escapes are kept and
    /// only characters that would break the query are escaped (never encoded twice).
    public mutating func addToken(_ key: String, _ token: String) {
        var allowed = Self.unreserved
        allowed.insert("%")
        let encoded = token.addingPercentEncoding(withAllowedCharacters: allowed) ?? token
        parts.append("\(key)=\(encoded)")
    }

    public var isEmpty: Bool { parts.isEmpty }
    /// The encoded string, without the leading "?".
    public var encoded: String { parts.joined(separator: "&") }
}
