import ArgumentParser
import Foundation
import LeverHubertSync

/// `run`: one reconciling pass over everything new since the last checkpoint.
struct RunCommand: ExitStatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "One reconciling pass: everything new since the last checkpoint (what cron runs)."
    )

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Compute the same plan and write nothing anywhere.")
    var dryRun = false

    @Option(name: .long, help: "Write a Prometheus textfile-collector file here at the end of the run (atomically).")
    var metricsFile: String?

    func outcome() async -> ExitStatus {
        await PassRunner.execute(common: common, mode: .live, dryRun: dryRun, metricsFile: metricsFile)
    }
}

/// `backfill`: the same pass over an explicit past window.
struct BackfillCommand: ExitStatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill", abstract: "A pass over an explicit past window; never moves the live checkpoint.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Window start: a date (2026-11-01, UTC) or an RFC 3339 timestamp.")
    var since: String

    @Option(name: .long, help: "Window end (default: now); a date means the end of that day (UTC).")
    var until: String?

    @Option(name: .long, help: "Only this posting id (repeatable).")
    var posting: [String] = []

    @Option(
        name: .long,
        help: "Stop taking new work after this many minutes and exit 75 (default: sync.passDeadlineMinutes).")
    var deadlineMinutes: Int?

    @Flag(name: .long, help: "Compute the same plan and write nothing anywhere.")
    var dryRun = false

    @Option(name: .long, help: "Write a Prometheus textfile-collector file here at the end of the run (atomically).")
    var metricsFile: String?

    func validate() throws {
        guard let start = DateArgument.parse(since, endOfDay: false) else {
            throw ValidationError("--since \(since) is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")
        }
        if let until {
            guard let end = DateArgument.parse(until, endOfDay: true) else {
                throw ValidationError("--until \(until) is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")
            }
            guard end >= start else { throw ValidationError("--until is before --since") }
        }
        if let deadlineMinutes, !(1...10_080).contains(deadlineMinutes) {
            throw ValidationError("--deadline-minutes must be between 1 and 10080")
        }
    }

    func outcome() async -> ExitStatus {
        let start = DateArgument.parse(since, endOfDay: false) ?? 0
        let end = until.flatMap { DateArgument.parse($0, endOfDay: true) } ?? Date().millis
        return await PassRunner.execute(
            common: common, mode: .backfill(since: start, until: end, postingIds: posting),
            dryRun: dryRun, metricsFile: metricsFile, deadlineMinutes: deadlineMinutes)
    }
}

/// Reads the dates of `backfill`.
enum DateArgument {
    static func parse(_ text: String, endOfDay: Bool) -> Millis? {
        if let millis = RFC3339.parse(text) { return millis }
        guard text.count == 10, let midnight = RFC3339.parse(text + "T00:00:00Z") else { return nil }
        return endOfDay ? midnight + 86_400_000 - 1 : midnight
    }
}

/// What `run` and `backfill` share: a session (configuration, lock, store, clients, engine) runs the pass; this
/// parses nothing, prints the outcome and turns signals into a cooperative stop.
enum PassRunner {
    static func execute(
        common: CommonOptions, mode: PassMode, dryRun: Bool, metricsFile: String?, deadlineMinutes: Int? = nil
    ) async -> ExitStatus {
        let runId = UUID().uuidString.lowercased()
        var logger = Bootstrap.logger(common)
        logger[metadataKey: "run.id"] = "\(runId)"
        let session: PassSession
        do {
            session = try PassSession.open(
                configPath: common.config, databaseOverride: common.database,
                environment: ProcessInfo.processInfo.environment, deadlineMinutes: deadlineMinutes, dryRun: dryRun,
                logger: logger)
        } catch {
            return Bootstrap.fail(
                common, error.status, message: error.message, runId: runId, mode: mode.name, dryRun: dryRun)
        }
        // SIGTERM/SIGINT: the session stops the pass cooperatively and records it with exit 75 (see
        // `PassSession.stop`). The watcher is in place before the pass starts. Whatever is still running then: the
        // promise is an exit within 10 s of the signal, except while a rotated Lever grant is being made durable
        // (cutting that off would lose the grant): then the exit waits for it, a few seconds at most (a refresh
        // begun before the signal ends within its own timeout).
        let watcher = SignalWatcher { number in
            guard session.stop(signal: number) else { return }
            DispatchQueue.global().asyncAfter(deadline: .now() + 9.5) {
                TokenFile.inFlight.waitUntilIdle(seconds: 5)
                ExitStatus.temporary.exitNow()
            }
        }
        // With --json the actions are spooled as they are decided (memory stays flat) and printed with the rest after.
        let stream = common.json ? ReportStream() : nil
        let report = await session.pass(
            mode: mode, runId: runId, stream: stream, progress: TerminalProgress.forStderr(), metricsFile: metricsFile)
        session.close()
        withExtendedLifetime(watcher) {}
        if let stream {
            stream.finish(report)
        } else {
            print(ReportText.render(report))
        }
        return report.status
    }
}
