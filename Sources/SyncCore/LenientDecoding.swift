import Foundation

extension KeyedDecodingContainer {
    /// The value for `key`, or nil when it is missing, null or of another type. Real Lever data has all three.
    public func lenient<T: Decodable>(_ type: T.Type, _ key: Key) -> T? {
        (try? decodeIfPresent(T.self, forKey: key)) ?? nil
    }

    /// A millisecond timestamp given as an integer, a float or a numeric string; nil otherwise.
    /// Values beyond ±10^15 ms (the year 33658) are no timestamps; refusing them keeps every later difference of
    /// two timestamps far from overflowing.
    public func milliseconds(_ key: Key) -> Int64? {
        let limit: Int64 = 1_000_000_000_000_000
        func bounded(_ value: Int64) -> Int64? { (-limit...limit).contains(value) ? value : nil }
        if let value = lenient(Int64.self, key) { return bounded(value) }
        // A float outside Int64's range (1e300, or what a hostile server sends) must not trap the conversion.
        if let value = lenient(Double.self, key), value.isFinite, abs(value) <= Double(limit) {
            return Int64(value.rounded(.down))
        }
        if let text = lenient(String.self, key), let value = Int64(text) { return bounded(value) }
        return nil
    }

    /// An array whose elements of the wrong type are dropped instead of failing the whole value.
    public func lenientArray<T: Decodable>(_ type: T.Type, _ key: Key) -> [T] {
        // The common case first: every element decodes (one pass, no wrapper per element).
        if let items = try? decodeIfPresent([T].self, forKey: key) { return items }
        guard let items = lenient([Lenient<T>].self, key) else { return [] }
        return items.compactMap(\.value)
    }
}

/// Decodes a `T` or nothing, never failing.
struct Lenient<T: Decodable>: Decodable {
    let value: T?
    init(from decoder: any Decoder) throws { value = try? T(from: decoder) }
}

/// A list element that either decoded or failed, with the id when one could be read, so that one bad item is
/// reported by name and the rest of the page goes on.
public enum Decoded<T: Decodable & Sendable>: Decodable, Sendable {
    case value(T)
    case failure(id: String?, reason: String)

    public init(from decoder: any Decoder) throws {
        do {
            self = .value(try T(from: decoder))
        } catch {
            let id = (try? IdOnly(from: decoder))?.id
            self = .failure(id: id, reason: Self.describe(error))
        }
    }

    public static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "unexpected value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let context): "malformed data: \(context.debugDescription)"
        default: "\(error)"
        }
    }
}

/// Reads just the `id` of an object, to name an item that failed to decode.
public struct IdOnly: Decodable { public var id: String? }
