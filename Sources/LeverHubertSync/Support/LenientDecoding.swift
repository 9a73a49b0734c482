import Foundation

extension KeyedDecodingContainer {
    /// The value for `key`, or nil when it is missing, null or of another type. Real Lever data has all three.
    func lenient<T: Decodable>(_ type: T.Type, _ key: Key) -> T? {
        (try? decodeIfPresent(T.self, forKey: key)) ?? nil
    }

    /// A millisecond timestamp given as an integer, a float or a numeric string; nil otherwise.
    func milliseconds(_ key: Key) -> Int64? {
        if let value = lenient(Int64.self, key) { return value }
        // A float outside Int64's range (1e300, or what a hostile server sends) must not trap the conversion.
        if let value = lenient(Double.self, key), value.isFinite, abs(value) < 9.2e18 { return Int64(value.rounded(.down)) }
        if let text = lenient(String.self, key), let value = Int64(text) { return value }
        return nil
    }

    /// An array whose elements of the wrong type are dropped instead of failing the whole value.
    func lenientArray<T: Decodable>(_ type: T.Type, _ key: Key) -> [T] {
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

    static func describe(_ error: any Error) -> String {
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
struct IdOnly: Decodable { var id: String? }

/// Milliseconds since the Unix epoch, the unit of every Lever timestamp.
public typealias Millis = Int64

public extension Date {
    /// This instant in integer milliseconds since the epoch.
    var millis: Millis { Millis((timeIntervalSince1970 * 1000).rounded(.down)) }
    /// The instant at `millis` milliseconds since the epoch.
    init(millis: Millis) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

/// RFC 3339 with milliseconds in UTC, the format of every Hubert timestamp.
public enum RFC3339 {
    /// Formats `millis` as `2026-11-26T10:00:00.000Z`.
    public static func format(_ millis: Millis) -> String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
    }

    /// Parses RFC 3339 timestamps (with or without fractional seconds, `Z` or an offset) into milliseconds.
    public static func parse(_ text: String) -> Millis? {
        let scalars = Array(text.utf8)
        guard scalars.count >= 19 else { return nil }
        func number(_ from: Int, _ length: Int) -> Int? {
            guard from + length <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[from..<(from + length)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              scalars[4] == 45, scalars[7] == 45, scalars[10] == 84 || scalars[10] == 116 || scalars[10] == 32,
              scalars[13] == 58, scalars[16] == 58 else { return nil }
        var index = 19
        var millis = 0
        if index < scalars.count && scalars[index] == 46 {
            index += 1
            var digits = 0
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(scalars[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in 0..<max(0, 3 - digits) { millis *= 10 }
        }
        var offsetSeconds = 0
        if index < scalars.count {
            if scalars[index] == 90 || scalars[index] == 122 {
                index += 1
            } else if scalars[index] == 43 || scalars[index] == 45, let oh = number(index + 1, 2), let om = number(index + 4, 2) {
                offsetSeconds = (oh * 3600 + om * 60) * (scalars[index] == 43 ? 1 : -1)
                index += 6
            } else {
                return nil
            }
        } else {
            return nil
        }
        guard index == scalars.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return (Millis(epoch) - Millis(offsetSeconds)) * 1000 + Millis(millis)
    }
}

/// FNV-1a, 64 bit: a small, stable, non-cryptographic hash (note markers, cache keys, the pass's seen-set).
public enum FNV1a {
    public static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }
}
