import Foundation

/// How `--json` spells a report: sorted keys, pretty printed, slashes as they are.
public enum ReportJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    /// The whole report as one JSON text.
    public static func text<T: Encodable>(_ value: T) -> String? {
        (try? encoder().encode(value)).flatMap { String(data: $0, encoding: .utf8) }
    }
}

/// Writes a pass's `--json` report as the pass goes, so that memory stays flat however many actions it plans (a
/// backfill dry run of 100,000 invitations): each action is written when it is decided, under the report's first
/// key (`actions`: keys are sorted), and the rest of the report when the pass is over. The text is byte for byte
/// what `ReportJSON.text` makes of the same report holding the actions.
public final class ReportStream: @unchecked Sendable {
    private let lock = NSLock()
    private let write: @Sendable (Data) -> Void
    private let encoder = ReportJSON.encoder()
    private var buffer = Data()
    private var written = 0
    private var finished = false
    /// Bytes gathered before they are written.
    static let flushAt = 64 * 1024

    /// A stream to `write` (standard output by default).
    public init(write: @escaping @Sendable (Data) -> Void = { FileHandle.standardOutput.write($0) }) {
        self.write = write
    }

    /// How many actions went out.
    public var count: Int { lock.withLock { written } }

    func add(_ action: Action) {
        guard let data = try? encoder.encode(action), let text = String(data: data, encoding: .utf8) else { return }
        lock.withLock {
            guard !finished else { return }
            buffer.append(contentsOf: (written == 0 ? "{\n  \"actions\" : [\n" : ",\n").utf8)
            // One level deeper than a report's own keys: every line of the action indented by four spaces.
            buffer.append(contentsOf: ("    " + text.replacingOccurrences(of: "\n", with: "\n    ")).utf8)
            written += 1
            if buffer.count >= Self.flushAt { flush() }
        }
    }

    /// Writes the rest of the report (whose own `actions` must be empty: they went out already) and a newline.
    public func finish(_ report: PassReport) {
        var rest = report
        rest.actions = []
        let text = ReportJSON.text(rest) ?? "{}"
        lock.withLock {
            guard !finished else { return }
            finished = true
            let empty = "{\n  \"actions\" : [\n\n  ]"
            if written == 0 {
                buffer.append(contentsOf: text.utf8)
            } else if text.hasPrefix(empty) {
                buffer.append(contentsOf: ("\n  ]" + text.dropFirst(empty.count)).utf8)
            } else {
                // Not the shape this was written for: close the array and the object rather than print two texts.
                buffer.append(contentsOf: "\n  ]\n}".utf8)
            }
            buffer.append(0x0A)
            flush()
        }
    }

    private func flush() {
        guard !buffer.isEmpty else { return }
        write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
