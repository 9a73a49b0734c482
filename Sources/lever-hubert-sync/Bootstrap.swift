import ArgumentParser
import Foundation
import LeverHubertSync
import Logging

/// Process-wide setup shared by the commands.
enum Bootstrap {
    /// The logger of this process (stderr; human on a terminal, JSON lines otherwise).
    static func logger(_ common: CommonOptions) -> Logger {
        let level = common.logLevel
        let format = common.logFormat ?? StderrLogHandler.defaultFormat
        return Logger(label: "lever-hubert-sync") { label in
            StderrLogHandler(label: label, level: level, format: format)
        }
    }

    /// Reports a failure before any pass started and returns its exit status.
    static func fail(_ common: CommonOptions, code: Int32, message: String) -> Int32 {
        FileHandle.standardError.write(Data("lever-hubert-sync: \(message)\n".utf8))
        if common.json {
            struct Failure: Encodable { var error: String; var exitCode: Int32 }
            Output.json(Failure(error: message, exitCode: code))
        }
        return code
    }
}

/// Writes JSON to stdout.
enum Output {
    static func json<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) {
            print(text)
        }
    }
}
