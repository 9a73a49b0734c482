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
/// backfill dry run of 100,000 invitations): the actions are written as they are decided, a batch at a time, under the report's first
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
        lock.withLock {
            guard !finished else { return }
            pending.append(action)
            written += 1
            if pending.count >= Self.batch { encodePending() }
        }
    }

    /// Actions not encoded yet: encoding a batch at once costs a fraction of encoding each alone.
    private var pending: [Action] = []
    static let batch = 256
    private static let indent: [UInt8] = Array("  ".utf8)

    /// Encodes the pending actions as one pretty-printed array and moves its elements into the buffer, one level
    /// deeper (two more spaces on every line; a newline inside a string is escaped, so every 0x0A ends a line).
    private func encodePending() {
        guard !pending.isEmpty, let data = try? encoder.encode(pending) else { return }
        let first = pending.count == written
        pending.removeAll(keepingCapacity: true)
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count >= 3 else { return }
        lines.removeFirst()  // "["
        lines.removeLast()  // "]"
        buffer.append(contentsOf: (first ? "{\n  \"actions\" : [\n" : ",\n").utf8)
        for (index, line) in lines.enumerated() {
            if index > 0 { buffer.append(0x0A) }
            buffer.append(contentsOf: Self.indent)
            buffer.append(contentsOf: line)
        }
        if buffer.count >= Self.flushAt { flush() }
    }

    /// Writes the rest of the report (whose own `actions` must be empty: they went out already) and a newline.
    public func finish(_ report: PassReport) {
        var rest = report
        rest.actions = []
        let text = ReportJSON.text(rest) ?? "{}"
        lock.withLock {
            guard !finished else { return }
            finished = true
            encodePending()
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
