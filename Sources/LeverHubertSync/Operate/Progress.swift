import Foundation

/// What a pass reports as it pages through a window.
public struct ProgressEvent: Sendable {
    /// Which list: "lever opportunities", "hubert interviews".
    public var stream: String
    /// Items on the page just processed.
    public var items: Int
    /// Where the page ended inside the window (the last item's timestamp), for an ETA.
    public var position: Millis?
    public var window: ClosedRange<Millis>?
}

/// Receives progress events; the engine calls it after each page.
public typealias ProgressSink = @Sendable (ProgressEvent) -> Void

/// Draws one updating line on a terminal (pages, items, rate, ETA); stays silent when stderr is not a terminal.
public final class TerminalProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [String: (pages: Int, items: Int, started: Date, fraction: Double?)] = [:]
    private var lastDraw = Date.distantPast
    private var drawn = false

    public init() {}

    /// A sink when stderr is a terminal, nil otherwise (cron stays quiet).
    public static func forStderr() -> TerminalProgress? { isatty(2) == 1 ? TerminalProgress() : nil }

    public var sink: ProgressSink { { [self] event in self.record(event) } }

    func record(_ event: ProgressEvent) {
        lock.lock()
        defer { lock.unlock() }
        let isNew = streams[event.stream] == nil
        var s = streams[event.stream] ?? (0, 0, Date(), nil)
        s.pages += 1
        s.items += event.items
        if let position = event.position, let window = event.window, window.upperBound > window.lowerBound {
            s.fraction = min(
                1, max(0, Double(position - window.lowerBound) / Double(window.upperBound - window.lowerBound)))
        }
        streams[event.stream] = s
        guard isNew || Date().timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = Date()
        FileHandle.standardError.write(Data("\r\u{1B}[K\(Self.line(event.stream, s, final: false))".utf8))
        drawn = true
    }

    static func line(_ stream: String, _ s: (pages: Int, items: Int, started: Date, fraction: Double?), final: Bool)
        -> String
    {
        let elapsed = max(0.001, Date().timeIntervalSince(s.started))
        var line = "\(stream): \(s.pages) pages, \(s.items) items, \(Int(Double(s.items) / elapsed))/s"
        if !final, let fraction = s.fraction, fraction > 0.01 {
            let eta = Int(elapsed / fraction * (1 - fraction))
            line += String(format: ", %d%%, ETA %d:%02d", Int(fraction * 100), eta / 60, eta % 60)
        }
        return line
    }

    /// Ends the progress display with one summary line per list.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard drawn else { return }
        var text = "\r\u{1B}[K"
        for (stream, s) in streams.sorted(by: { $0.key > $1.key }) { text += Self.line(stream, s, final: true) + "\n" }
        FileHandle.standardError.write(Data(text.utf8))
        drawn = false
    }
}
