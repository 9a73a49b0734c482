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

    /// Reports a failure before any pass started and returns its exit status. With `--json` it prints the same
    /// object a finished pass prints (`PassReport.early`: run id, exit code, message, zero counts, no actions or
    /// problems), so a consumer reads one schema whatever happened.
    static func fail(
        _ common: CommonOptions, code: Int32, message: String, runId: String? = nil, mode: String = "run",
        dryRun: Bool = false
    ) -> Int32 {
        FileHandle.standardError.write(Data("lever-hubert-sync: \(message)\n".utf8))
        if common.json {
            Output.json(
                PassReport.early(
                    runId: runId ?? UUID().uuidString.lowercased(), mode: mode, dryRun: dryRun,
                    exitCode: code, message: message, now: Date().millis))
        }
        return code
    }
}

/// Writes JSON to stdout.
enum Output {
    static func json<T: Encodable>(_ value: T) {
        if let text = ReportJSON.text(value) { print(text) }
    }
}
