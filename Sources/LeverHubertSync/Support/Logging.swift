import Foundation
import Logging

/// Writes log records to stderr: readable lines on a terminal, JSON lines otherwise (cron, systemd, Kubernetes).
/// Messages are constant strings; data goes in metadata. Secrets never reach here: they are `Secret` values.
public struct StderrLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable { case human, json }
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let format: Format

    public init(label: String, level: Logger.Level, format: Format) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    /// Human lines when stderr is a terminal, JSON lines otherwise.
    public static var defaultFormat: Format { isatty(2) == 1 ? .human : .json }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line: String
        switch format {
        case .human:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(event.level.rawValue.uppercased()) \(event.message)\(fields.isEmpty ? "" : " " + fields)\n"
        case .json:
            var object: [String: String] = [:]
            for (key, value) in merged { object[key] = "\(value)" }
            object["ts"] = RFC3339.format(Date().millis)
            object["level"] = event.level.rawValue
            object["msg"] = "\(event.message)"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(object)) ?? Data()
            line = (String(data: data, encoding: .utf8) ?? "{}") + "\n"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
