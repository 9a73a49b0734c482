import Foundation
import GRDB
import Logging
import Sandbox

@testable import LeverHubertSync

/// Both sandboxes on loopback, a real SQLite file in a fresh directory, and a configuration pointing at them.
/// Everything a test needs to run real passes over real HTTP.
final class TestEnvironment: Sendable {
    static let leverKey = "test-lever-key-0123456789abcdef"
    static let hubertKey = "test-hubert-key-fedcba9876543210"
    static let templateA = "61f080d9414018eda48a7380"
    static let templateB = "5e2b91c04d7a3f18b6c2e9a1"
    static let phoneScreen = "9b1e0c3a-5d2f-4c7e-8a61-2f4d8c1b7e01"
    static let onsite = "4c2a7e19-0b3d-4f6a-9e85-7d1c3b2a6f02"

    let lever: LeverSandbox
    let hubert: HubertSandbox
    let leverServer: SandboxHTTPServer
    let hubertServer: SandboxHTTPServer
    let directory: URL
    let databasePath: String
    let leverOrigin: String
    let hubertOrigin: String

    init(hubertRateLimit: (rate: Double, burst: Int)? = nil) async throws {
        lever = LeverSandbox(apiKey: Self.leverKey)
        hubert = HubertSandbox(apiKey: Self.hubertKey, rateLimit: hubertRateLimit)
        leverServer = try await SandboxHTTPServer(service: lever)
        hubertServer = try await SandboxHTTPServer(service: hubert)
        leverOrigin = await leverServer.origin
        hubertOrigin = await hubertServer.origin
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databasePath = directory.appendingPathComponent("sync.sqlite3").path
        await hubert.addTemplate(id: Self.templateA, name: "Warehouse", threshold: 70)
        await hubert.addTemplate(id: Self.templateB, name: "Support", threshold: 60)
    }

    deinit {
        let (a, b) = (leverServer, hubertServer)
        Task {
            await a.stop()
            await b.stop()
        }
    }

    /// The YAML configuration the tests use (fast retries, a generous client rate), plus `extra` lines.
    func yaml(autoMove: String = "", extra: String = "") -> String {
        """
        lever:
          baseURL: \(leverOrigin)/v1
          apiKey: ${LEVER_API_KEY}
          performAs: sync-bot@example.com
          requestsPerSecond: 500
          burst: 50
        hubert:
          baseURL: \(hubertOrigin)
          apiKey: ${HUBERT_API_KEY}
          requestsPerSecond: 500
          burst: 50
        sync:
          lookbackMinutes: 10
          retry:
            maxAttempts: 4
            baseDelayMs: 5
            maxDelayMs: 50
            budget: 100
        \(autoMove)
        database:
          path: \(databasePath)
        \(extra)
        """
    }

    var environment: [String: String] { ["LEVER_API_KEY": Self.leverKey, "HUBERT_API_KEY": Self.hubertKey] }

    func config(autoMove: String = "", extra: String = "", tweak: (inout ConfigFile) -> Void = { _ in }) throws
        -> AppConfig
    {
        var file = try ConfigLoader.parse(yaml: yaml(autoMove: autoMove, extra: extra))
        tweak(&file)
        return try ConfigLoader.resolve(file, environment: environment).config
    }

    /// Runs one pass in-process over real HTTP and a real SQLite file.
    /// An invitation intent as a process records it just before its POST (and then died): pending, under the pair's
    /// deterministic key.
    func recordPendingIntent(
        _ opportunityId: String, posting: String, templateId: String = TestEnvironment.templateA
    ) async throws {
        try await store().recordInvitationIntent(
            InvitationRecord(
                opportunityId: opportunityId, templateId: templateId, postingId: posting, state: .pending,
                interviewId: nil, stageAtInvitation: "applicant-new"),
            idempotencyKey: HubertClient.idempotencyKey(opportunityId: opportunityId, templateId: templateId),
            now: Date().millis)
    }

    /// `clockOffset`: the engine's clock runs this many ms away from the real one (the sandboxes keep real time),
    /// for time that cannot be staged for real: clock steps, retention, give-up periods.
    func pass(
        _ mode: PassMode = .live, dryRun: Bool = false, autoMove: String = "", extra: String = "",
        clockOffset: Millis = 0, tweak: (inout ConfigFile) -> Void = { _ in }
    ) async throws -> PassReport {
        let session = try session(
            config(autoMove: autoMove, extra: extra, tweak: tweak), dryRun: dryRun, clockOffset: clockOffset)
        defer { session.close() }
        return await session.pass(mode: mode)
    }

    /// A session over this environment's database, as `run` opens one (run lock, store; `dryRun`: no lock file, the
    /// database read-only), logging nothing. The caller closes it.
    func session(_ config: AppConfig? = nil, dryRun: Bool = false, clockOffset: Millis = 0) throws -> PassSession {
        try PassSession(
            config: config ?? self.config(), dryRun: dryRun, logger: Self.noLogs,
            clock: { Date().millis + clockOffset })
    }

    static let noLogs = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// The store, for assertions.
    func store() throws -> Store { try Store(path: databasePath) }

    /// Adds a posting tagged with a template.
    func taggedPosting(_ template: String = templateA, text: String = "Warehouse Associate") async -> String {
        await lever.addPosting(text: text, tags: ["Hubert: \(template)"])
    }

    /// Interviews per opportunity in Hubert.
    func interviews(_ opportunityId: String) async -> [HubertSandbox.Interview] {
        await hubert.interviews(opportunityId: opportunityId)
    }

    /// A snapshot of everything the sandboxes hold that a pass could change, to prove a dry run changed nothing.
    func snapshot() async -> String {
        var lines: [String] = []
        for (id, o) in await lever.opportunities.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "\(id) stage=\(o.stage) tags=\(o.tags) links=\(o.links) updated=\(o.updatedAt) notes=\(await lever.notesOf(id).count)"
            )
        }
        for (id, i) in await hubert.interviews.sorted(by: { $0.key < $1.key }) {
            lines.append("\(id) \(i.status) \(i.updatedAt)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Waits one millisecond so that the next sandbox change has a later timestamp than the last pass's start.
func tick() async { try? await Task.sleep(for: .milliseconds(3)) }

extension TestEnvironment {
    /// Every row of every table of the store, as text: equal snapshots mean no state changed.
    func databaseSnapshot() async throws -> String {
        try await store().read { db in
            var lines: [String] = []
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            for table in tables {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1") {
                    lines.append("\(table): \(row.description)")
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}
