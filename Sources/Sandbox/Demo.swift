import Foundation
import LeverHubertSync
import Logging

/// Why the demo refused to start.
public enum DemoError: Error, CustomStringConvertible {
    /// `--database` names a database the demo did not make.
    case notADemoDatabase(String)

    public var description: String {
        switch self {
        case .notADemoDatabase(let path):
            "demo: \(path) is not a database the demo made; the demo writes sample data and moves checkpoints, so it "
                + "refuses a real one (give a new path, or none for a temporary file)"
        }
    }
}

/// The embedded default: both sandboxes on loopback with sample postings and applicants, and real passes
/// against them, told the way a recruiter reads it. Needs no credentials and no network.
public enum Demo {
    public static let leverKey = "demo-lever-key-not-a-secret"
    public static let hubertKey = "demo-hubert-key-not-a-secret"
    public static let warehouseTemplate = "61f080d9414018eda48a7380"
    public static let supportTemplate = "5e2b91c04d7a3f18b6c2e9a1"

    /// What the demo did: the reports of its passes and the lines it printed.
    public struct Outcome: Sendable {
        public var reports: [PassReport]
        public var lines: [String]
    }

    /// Runs the demo, printing as it goes through `say`. `databasePath` nil uses a temporary directory.
    public static func run(databasePath: String? = nil, logger: Logger, say: @Sendable (String) -> Void) async throws
        -> Outcome
    {
        var lines: [String] = []
        func out(_ text: String) {
            lines.append(text)
            say(text)
        }

        let lever = LeverSandbox(apiKey: leverKey, rateLimit: (10, 20))
        let hubert = HubertSandbox(apiKey: hubertKey)
        let leverServer = try await SandboxHTTPServer(service: lever)
        let hubertServer = try await SandboxHTTPServer(service: hubert)
        defer {
            Task {
                await leverServer.stop()
                await hubertServer.stop()
            }
        }

        await hubert.addTemplate(id: warehouseTemplate, name: "Warehouse Associate — Stockholm", threshold: 70)
        await hubert.addTemplate(id: supportTemplate, name: "Customer Support Agent", threshold: 60)
        let warehouse = await lever.addPosting(
            text: "Warehouse Associate", tags: ["Hubert: \(warehouseTemplate)", "Stockholm"])
        let support = await lever.addPosting(text: "Customer Support Agent", tags: ["Hubert: \(supportTemplate)"])
        _ = await lever.addPosting(text: "Office Manager", tags: ["Full-time"])
        _ = await lever.addPosting(text: "Forklift Driver", tags: ["Hubert: 12345"])
        var names: [String: String] = [:]
        var postingNames = [warehouse: "Warehouse Associate", support: "Customer Support Agent"]
        postingNames[""] = ""
        func add(
            _ name: String?, _ email: [String], _ posting: String, stage: String = "applicant-new",
            contactAllowed: Bool? = nil, archived: Bool = false
        ) async -> String {
            let id = await lever.addOpportunity(
                name: name, emails: email, posting: posting, stage: stage,
                contactAllowed: contactAllowed, archived: archived)
            names[id] = name ?? "(no name)"
            return id
        }
        _ = await add("Early Bird", ["early@example.com"], warehouse)
        let referral = await add("Katherine Johnson", ["katherine@example.com"], support, stage: "lead-new")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-demo-\(UUID().uuidString)")
        let path = databasePath ?? directory.appendingPathComponent("demo.sqlite3").path
        let yaml = """
            lever:
              baseURL: \(await leverServer.origin)/v1
              apiKey: ${LEVER_API_KEY}
              performAs: sync-bot@example.com
            hubert:
              baseURL: \(await hubertServer.origin)
              apiKey: ${HUBERT_API_KEY}
            autoMove:
              lead: Phone screen
              postings:
                \(support):
                  lead: Onsite interview
            """
        let config = try ConfigLoader.resolve(
            ConfigLoader.parse(yaml: yaml), databaseOverride: path,
            environment: ["LEVER_API_KEY": leverKey, "HUBERT_API_KEY": hubertKey]
        ).config
        // The demo moves checkpoints and writes its own sample data: never onto a real database.
        if FileManager.default.fileExists(atPath: path) {
            let existing = try? Store(readOnlyPath: path)
            guard let existing, try await existing.isDemoDatabase() else { throw DemoError.notADemoDatabase(path) }
        }
        let session = try PassSession(config: config, dryRun: false, logger: logger)
        defer { session.close() }
        let store = session.store
        try await store.markDemoDatabase()
        var reports: [PassReport] = []

        let stageNames = Dictionary(uniqueKeysWithValues: await lever.stages.map { ($0.id, $0.text) })
        var problemsSeen = Set<String>()
        func pass(_ title: String) async -> PassReport {
            let report = await session.pass(mode: .live)
            reports.append(report)
            out("")
            out("== \(title)")
            // One line per candidate, in the order the pass touched them.
            var order: [String] = []
            var byCandidate: [String: [Action]] = [:]
            for action in report.actions {
                if byCandidate[action.opportunityId] == nil { order.append(action.opportunityId) }
                byCandidate[action.opportunityId, default: []].append(action)
            }
            for id in order {
                let who = names[id] ?? id
                let actions = byCandidate[id] ?? []
                var parts: [String] = []
                for action in actions {
                    parts.append(action.phrase(postingName: { postingNames[$0] }, stageName: { stageNames[$0] }))
                }
                var grade = ""
                if actions.contains(where: { $0.type == .addNote }),
                    let interview = await hubert.interviews(opportunityId: id).first,
                    let result = interview.result
                {
                    grade =
                        "graded \(result.grade.label) (\(Int(result.score ?? 0)), threshold \(Int(result.threshold ?? 0))): "
                }
                out("   \(who) — \(grade)\(parts.joined(separator: ", "))")
            }
            for problem in report.problems
            where problemsSeen.insert("\(problem.reason)|\(problem.opportunityId ?? "")|\(problem.postingId ?? "")")
                .inserted
            {
                let who = problem.opportunityId.flatMap { names[$0] }.map { "\($0) — " } ?? ""
                out("   ⚠ needs a human: \(who)\(problem.message)")
            }
            if report.counts.skipped > 0 && report.counts.invitationsSent > 0 {
                out("   (\(report.counts.skipped) not invited: archived, or asked not to be contacted)")
            }
            if report.actions.isEmpty { out("   nothing to do: everything is in sync") }
            out(
                "   [pass \(report.runId.prefix(8)): exit \(report.exitCode), \(report.requests.lever) Lever and \(report.requests.hubert) Hubert requests]"
            )
            return report
        }

        out("Lever and Hubert sandboxes are running on \(await leverServer.origin) and \(await hubertServer.origin).")
        out(
            "Postings: Warehouse Associate and Customer Support Agent carry a Hubert tag; Forklift Driver's tag is malformed."
        )
        _ = await pass("First pass: the sync learns which postings take part (nobody who applied earlier is invited)")

        _ = await add("Ada Lovelace", ["ada@example.com"], warehouse)
        _ = await add("Grace Brewster Murray Hopper", ["grace@example.com"], warehouse)
        _ = await add("Cher", ["cher@example.com"], warehouse)
        _ = await add("李小龙", ["lee@example.com"], support)
        _ = await add("Alan Turing", ["alan@example.com"], support)
        let noEmail = await add("No Email", [], warehouse)
        _ = await add("Opted Out", ["optout@example.com"], warehouse, contactAllowed: false)
        _ = await add("Already Archived", ["archived@example.com"], support, archived: true)
        await lever.move(referral, to: "applicant-new")
        _ = await pass("New applicants arrived (and a referral was moved to New applicant)")

        var byName: [String: String] = [:]
        for (id, name) in names {
            if let interview = await hubert.interviews(opportunityId: id).first { byName[name] = interview.id }
        }
        if let id = byName["Ada Lovelace"] { await hubert.complete(id, grade: .lead, score: 86) }
        if let id = byName["Grace Brewster Murray Hopper"] { await hubert.complete(id, grade: .passed, score: 64) }
        if let id = byName["Alan Turing"] { await hubert.complete(id, grade: .notQualified, score: 20) }
        if let id = byName["李小龙"] { await hubert.complete(id, grade: .lead, score: 91) }
        if let id = byName["Cher"] { await hubert.expire(id) }
        _ = await pass("Candidates finished their interviews")

        if let id = byName["Grace Brewster Murray Hopper"] { await hubert.complete(id, grade: .lead, score: 75) }
        _ = await pass("Hubert regraded Grace Brewster Murray Hopper from Passed to Lead")
        await lever.edit(noEmail, emails: ["no.email@example.com"])
        _ = await pass("A recruiter added No Email's address: the held-back candidate is invited, with no backfill")
        _ = await pass("Cron runs again with nothing new")

        let status = try await StatusReport.load(store: store, now: Date().millis)
        out("")
        out(
            "Ledger: \(status.invitations.sent + status.invitations.completed + status.invitations.expired) invitations, \(status.invitations.completed) completed, \(status.invitations.expired) expired; \(status.problems.count) problems need a human."
        )
        var duplicates = 0
        for (_, count) in await hubert.emailsSent where count > 1 { duplicates += 1 }
        out("Duplicate invitation e-mails: \(duplicates). Database: \(path)")
        // The funnel page of this sandbox run, next to the demo database (what `status --html` writes).
        let page = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("funnel.html").path
        try FunnelPage.write(FunnelPage.render(status, now: Date().millis), to: page)
        out("Funnel page: \(page)")
        return Outcome(reports: reports, lines: lines)
    }
}
