import Foundation

/// How long one item has been failing, in words a recruiter or an operator reads in a problem's message.
enum Failing {
    /// "failing for 3 d 4 h (since 2026-11-02T10:00:00Z, 3 tries)"; "failing since now" on the first failure.
    static func describe(since: Millis, now: Millis, tries: Int) -> String {
        let tried = tries == 1 ? "1 try" : "\(tries) tries"
        let elapsed = max(0, now - since)
        guard elapsed >= 60_000 else { return "failing since now (\(tried))" }
        return "failing for \(duration(elapsed)) (since \(RFC3339.format(since)), \(tried))"
    }

    /// A duration in days and hours, hours and minutes, or minutes.
    static func duration(_ ms: Millis) -> String {
        let minutes = ms / 60_000
        let (days, hours) = (minutes / 1440, minutes % 1440 / 60)
        if days > 0 { return hours > 0 ? "\(days) d \(hours) h" : "\(days) d" }
        if minutes >= 60 { return minutes % 60 > 0 ? "\(minutes / 60) h \(minutes % 60) min" : "\(minutes / 60) h" }
        return "\(minutes) min"
    }
}
