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
        _ common: CommonOptions, _ status: ExitStatus, message: String, runId: String? = nil, mode: String = "run",
        dryRun: Bool = false
    ) -> ExitStatus {
        Output.error(message)
        if common.json {
            Output.json(
                PassReport.early(
                    runId: runId ?? UUID().uuidString.lowercased(), mode: mode, dryRun: dryRun,
                    exitCode: status.code, message: message, now: Date().millis))
        }
        return status
    }
}

/// Writes to the process's standard streams.
enum Output {
    /// JSON on stdout.
    static func json<T: Encodable>(_ value: T) {
        if let text = ReportJSON.text(value) { print(text) }
    }

    /// One line on stderr, after the program's name.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("lever-hubert-sync: \(message)\n".utf8))
    }
}
