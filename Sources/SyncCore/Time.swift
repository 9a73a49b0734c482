import Foundation

/// Milliseconds since the Unix epoch, the unit of every Lever timestamp.
public typealias Millis = Int64

extension Date {
    /// This instant in integer milliseconds since the epoch.
    public var millis: Millis { Millis((timeIntervalSince1970 * 1000).rounded(.down)) }
    /// The instant at `millis` milliseconds since the epoch.
    public init(millis: Millis) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
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
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
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
            scalars[13] == 58, scalars[16] == 58
        else { return nil }
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
            } else if scalars[index] == 43 || scalars[index] == 45, let oh = number(index + 1, 2),
                let om = number(index + 4, 2)
            {
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
