import Foundation

/// The funnel page's words for numbers and times: latencies, ages, exit statuses, durations, clock times, and
/// the HTML escaping every string from data goes through.
extension FunnelPage {
    static func latencySentence(_ latency: FunnelEntry.Latency?) -> String {
        guard let latency else { return "No invitation has been confirmed yet, so there is no time to invitation." }
        return "Invitations went out a median of \(duration(latency.p50)) after the application; "
            + "95% within \(duration(latency.p95))."
    }

    /// How old a checkpoint is: "under a minute ago", "5 min ago".
    static func ago(_ seconds: Int64) -> String {
        seconds < 60 ? "under a minute ago" : "\(duration(Double(seconds))) ago"
    }

    static func exitWords(_ code: Int?) -> (String, String) {
        switch code {
        case nil: ("did not finish (still running, or stopped)", "warn")
        case 0?: ("finished normally", "ok")
        case 75?: ("stopped early; the next run picks up (exit 75)", "warn")
        case 77?: ("a Lever or Hubert key was refused (exit 77): IT must act", "bad")
        case 78?: ("the configuration is invalid (exit 78): IT must act", "bad")
        case let code?: ("ended with exit \(code)", "bad")
        }
    }

    /// A duration for people: "under 0.1 s", "0.4 s", "45 s", "1 min 35 s", "2 h 5 min", "3 d 4 h".
    static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 0.05 { return "under 0.1 s" }
        if s < 10 { return String(format: "%.1f s", s) }
        let whole = Int(s.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return whole % 60 == 0 ? "\(whole / 60) min" : "\(whole / 60) min \(whole % 60) s" }
        if whole < 86_400 {
            let minutes = (whole % 3600) / 60
            return minutes == 0 ? "\(whole / 3600) h" : "\(whole / 3600) h \(minutes) min"
        }
        let hours = (whole % 86_400) / 3600
        return hours == 0 ? "\(whole / 86_400) d" : "\(whole / 86_400) d \(hours) h"
    }

    /// "2026-12-02 06:30 UTC".
    static func clock(_ millis: Millis) -> String { clock(RFC3339.format(millis)) }

    /// "2026-12-02T06:30:00.000Z" → "2026-12-02 06:30 UTC"; anything else as it is.
    static func clock(_ rfc3339: String) -> String {
        guard rfc3339.count >= 16, RFC3339.parse(rfc3339) != nil else { return rfc3339 }
        return rfc3339.prefix(16).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    /// HTML-escapes text for element content and quoted attributes.
    static func esc(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
