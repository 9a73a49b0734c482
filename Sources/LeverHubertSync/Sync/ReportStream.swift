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

/// A pass's `--json` report for any number of actions in flat memory (a backfill dry run of 100,000 invitations):
/// the actions are encoded as they are decided, a batch at a time, into an unlinked temporary file (nothing to clean
/// up, nothing left by a crash), and the whole report — actions first, under the report's first key (keys are
/// sorted), then the rest — is written when the pass is over, after everything was recorded, as before: a reader
/// that stalls or goes away cannot stop a pass halfway. The text is byte for byte what `ReportJSON.text` makes of
/// the same report holding the actions. Without a temporary directory the actions stay in memory.
public final class ReportStream: @unchecked Sendable {
    private let lock = NSLock()
    private let write: @Sendable (Data) -> Void
    private let encoder = ReportJSON.encoder()
    /// The spool (an unlinked file), or -1: the encoded actions then stay in `buffer`.
    private var spool: Int32 = -1
    private var buffer = Data()
    private var written = 0
    private var finished = false
    /// Bytes gathered before they go to the spool, and the size of the chunks the report is written in.
    static let flushAt = 64 * 1024

    /// A report for `write` (standard output by default).
    public init(write: @escaping @Sendable (Data) -> Void = ReportStream.standardOutput) {
        self.write = write
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory + "/lever-hubert-sync-report-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 {
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            spool = fd
        }
    }

    deinit { if spool >= 0 { close(spool) } }

    /// Writes all of `data` to standard output; a reader that went away (EPIPE) loses the rest, quietly.
    public static let standardOutput: @Sendable (Data) -> Void = { data in
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// How many actions went in.
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
        if buffer.count >= Self.flushAt { spoolBuffer() }
    }

    /// Moves the buffer to the spool (when there is one and it takes the bytes; otherwise they stay in memory).
    private func spoolBuffer() {
        guard spool >= 0, !buffer.isEmpty else { return }
        let ok = buffer.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(spool, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
        if ok {
            buffer.removeAll(keepingCapacity: true)
        } else {
            // A full disk: what is spooled so far is kept, the rest stays in memory.
            _ = ftruncate(spool, 0)
            close(spool)
            spool = -1
            buffer = Data()
            lostSpool = true
        }
    }

    /// The spool failed part-way: its actions are gone, so the report says so rather than list some of them.
    private var lostSpool = false

    /// Writes the report: the actions (from the spool, then memory), then the rest of `report` (whose own `actions`
    /// must be empty: they are here) and a newline. Later calls do nothing.
    public func finish(_ report: PassReport) {
        var rest = report
        rest.actions = []
        if lostSpool {
            rest.message =
                (rest.message.map { $0 + "; " } ?? "")
                + "the report's actions could not be kept (no room in the temporary directory)"
        }
        let text = ReportJSON.text(rest) ?? "{}"
        lock.withLock {
            guard !finished else { return }
            finished = true
            encodePending()
            if lostSpool { written = 0 }
            // The spooled part first, in chunks.
            if spool >= 0, lseek(spool, 0, SEEK_SET) == 0, !lostSpool {
                var chunk = [UInt8](repeating: 0, count: Self.flushAt)
                while true {
                    let n = chunk.withUnsafeMutableBytes { Foundation.read(spool, $0.baseAddress!, Self.flushAt) }
                    if n > 0 { write(Data(chunk[0..<n])) } else if n < 0 && errno == EINTR { continue } else { break }
                }
            }
            var tail = lostSpool ? Data() : buffer
            buffer = Data()
            let empty = "{\n  \"actions\" : [\n\n  ]"
            if written == 0 {
                tail = Data(text.utf8)
            } else if text.hasPrefix(empty) {
                tail.append(contentsOf: ("\n  ]" + text.dropFirst(empty.count)).utf8)
            } else {
                // Not the shape this was written for (another Foundation): still one JSON object, said on stderr.
                FileHandle.standardError.write(Data("lever-hubert-sync: the --json report lost its fields\n".utf8))
                tail.append(contentsOf: "\n  ]\n}".utf8)
            }
            tail.append(0x0A)
            write(tail)
        }
    }
}
