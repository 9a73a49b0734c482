import ArgumentParser
import Foundation
import LeverHubertSync
import Sandbox

/// Benchmarks the release binary against the in-repo sandboxes and prints the figures behind the performance
/// targets. It asserts nothing in CI; it prints whether each target is met.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lhs-bench",
        abstract: "Benchmarks lever-hubert-sync against the sandboxes.")

    @Option(help: "The lever-hubert-sync binary to measure (build it with -c release).")
    var binary = ".build/release/lever-hubert-sync"
    @Option(help: "Latency the sandboxes add to every answer, in ms.")
    var latencyMs = 10
    @Option(help: "Lever sandbox rate limit (requests/s); the client budget is 90% of it.")
    var leverRate = 100.0
    @Option(help: "Hubert sandbox rate limit (requests/s); the client budget is 90% of it.")
    var hubertRate = 100.0
    @Option(help: "Invitations in the write pass.")
    var invitations = 2_000
    @Option(help: "Results in the write pass.")
    var results = 1_000
    @Option(help: "Opportunities in the scan.")
    var scan = 100_000
    @Option(
        help:
            "Which parts to run: idle, writes, scan, plan, decode, latency, busy, peer, growth (repeatable; default all but latency, busy, peer and growth)."
    )
    var only: [String] = []
    @Option(help: "Items processed at once in the scan (sync.concurrency).")
    var scanConcurrency = 8
    @Option(help: "Extra environment for the measured process, KEY=VALUE (repeatable).")
    var env: [String] = []
    @Option(help: "Opportunities in the plan part, each planned an invitation (backfill --dry-run --json).")
    var planned = 100_000
    @Option(help: "Cron interval of the latency part, in seconds (--only latency).")
    var cronSeconds = 10
    @Option(help: "How long applicants arrive in the latency part, in seconds.")
    var latencySeconds = 120
    @Option(help: "Applicants arriving in the latency part.")
    var latencyApplicants = 60
    @Option(help: "Opportunities in the peer part (--only peer).")
    var peerOpportunities = 20_000
    @Option(help: "The command the peer part measures beside backfill --dry-run (see scripts/bench-peer).")
    var peerCommand: String?
    @OptionGroup(title: "Neighbour part (--only neighbour)") var neighbourOptions: NeighbourOptions

    @Option(help: "Days of one-minute passes in the growth part (--only growth).")
    var growthDays = 365
    @Option(help: "Applicants a day in the growth part (70% of them with a result written back).")
    var growthApplicantsPerDay = 50
    @Flag(help: "In the growth part, keep idle runs for the whole retention (the store before issue #20), to compare.")
    var growthKeepIdleRuns = false

    static let leverKey = "bench-lever-key", hubertKey = "bench-hubert-key"
    static let template = "61f080d9414018eda48a7380"

    func wants(_ part: String) -> Bool { only.isEmpty || only.contains(part) }

    mutating func run() async throws {
        if only == ["growth"] {
            // The store alone: no binary, no sandbox.
            print("lever-hubert-sync benchmark — growth of the store")
            print("\nTargets:\n  " + (try await growth()))
            return
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("no binary at \(binary): run `swift build -c release` first")
        }
        print(
            "lever-hubert-sync benchmark — binary \(binary), latency \(latencyMs) ms, sandbox limits Lever \(leverRate)/s, Hubert \(hubertRate)/s"
        )
        var verdicts: [String] = []
        if wants("idle") { verdicts.append(try await idle()) }
        if wants("writes") { verdicts.append(try await writes()) }
        if wants("scan") { verdicts.append(try await scanPass()) }
        if wants("plan") { verdicts.append(try await plan()) }
        if wants("decode") { try await decode() }
        if only.contains("latency") { verdicts.append(try await latency()) }
        if only.contains("busy") { verdicts.append(try await busy()) }
        if only.contains("peer") { verdicts.append(try await peer()) }
        if only.contains("growth") { verdicts.append(try await growth()) }
        if only.contains("neighbour") { verdicts.append(try await neighbour()) }
        print("\nTargets:")
        for verdict in verdicts { print("  " + verdict) }
    }

    /// Both sandboxes, a work directory, and a config file pointing at them.
    struct Rig {
        let lever: LeverSandbox
        let hubert: HubertSandbox
        let servers: [SandboxHTTPServer]
        let dir: URL
        let config: String
        let database: String

        var extraEnvironment: [String: String] = [:]

        init(leverClientRate: Double, hubertClientRate: Double, concurrency: Int = 8) async throws {
            lever = LeverSandbox(apiKey: Bench.leverKey)
            hubert = HubertSandbox(apiKey: Bench.hubertKey, rateLimit: nil)
            let l = try await SandboxHTTPServer(service: lever)
            let h = try await SandboxHTTPServer(service: hubert)
            servers = [l, h]
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            database = dir.appendingPathComponent("bench.sqlite3").path
            config = dir.appendingPathComponent("bench.yml").path
            await hubert.addTemplate(id: Bench.template, name: "Bench", threshold: 70)
            let yaml = """
                lever:
                  baseURL: \(await l.origin)/v1
                  apiKey: ${LEVER_API_KEY}
                  performAs: sync-bot@example.com
                  requestsPerSecond: \(leverClientRate)
                  burst: 10
                hubert:
                  baseURL: \(await h.origin)
                  apiKey: ${HUBERT_API_KEY}
                  requestsPerSecond: \(hubertClientRate)
                  burst: 5
                sync:
                  concurrency: \(concurrency)
                autoMove:
                  lead: Phone screen
                database:
                  path: \(database)
                """
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        }

        func run(_ binary: String, _ extra: [String] = []) async throws -> (ChildRun, [String: Any]) {
            let child = try await Spawn.run(
                binary, ["run", "--json", "--config", config] + extra,
                environment: [
                    "LEVER_API_KEY": Bench.leverKey, "HUBERT_API_KEY": Bench.hubertKey,
                    "PATH": "/usr/bin:/bin",
                ].merging(extraEnvironment) { $1 })
            let json = (try? JSONSerialization.jsonObject(with: Data(child.stdout.utf8))) as? [String: Any] ?? [:]
            guard child.status == 0 else {
                throw ValidationError("pass failed with exit \(child.status): \(child.stderr.suffix(500))")
            }
            return (child, json)
        }

        func stop() async { for server in servers { await server.stop() } }
    }

    static func requests(_ json: [String: Any]) -> (lever: Int, hubert: Int) {
        let r = json["requests"] as? [String: Any] ?? [:]
        return (r["lever"] as? Int ?? 0, r["hubert"] as? Int ?? 0)
    }

    func idle() async throws -> String {
        print("\n[idle] an idle pass over 100 tagged postings")
        let rig = try await Rig(leverClientRate: 8, hubertClientRate: 4)
        for i in 0..<100 { _ = await rig.lever.addPosting(text: "Posting \(i)", tags: ["Hubert: \(Bench.template)"]) }
        var faults = SandboxFaults()
        faults.latencyMs = latencyMs
        await rig.lever.setFaults(faults)
        await rig.hubert.setFaults(faults)
        _ = try await rig.run(binary)
        try await Task.sleep(for: .milliseconds(5))
        _ = try await rig.run(binary)
        try await Task.sleep(for: .milliseconds(5))
        // The third pass: the first read every posting in full, the second read the deleted opportunities.
        let (child, json) = try await rig.run(binary)
        let (lever, hubert) = Self.requests(json)
        print(
            String(
                format: "  Lever requests %d, Hubert requests %d, wall %.3f s (process start to exit)", lever, hubert,
                child.wallSeconds))
        await rig.stop()
        return
            "idle pass: \(lever) Lever (≤ 2) and \(hubert) Hubert (≤ 1) requests — \(lever <= 2 && hubert <= 1 ? "MET" : "NOT MET")"
    }

    func writes() async throws -> String {
        print("\n[writes] one pass with \(invitations) invitations and \(results) results")
        let leverClient = leverRate * 0.9
        let hubertClient = hubertRate * 0.9
        let rig = try await Rig(leverClientRate: leverClient, hubertClientRate: hubertClient, concurrency: 16)
        let posting = await rig.lever.addPosting(text: "Bench", tags: ["Hubert: \(Bench.template)"])
        _ = try await rig.run(binary)
        try await Task.sleep(for: .milliseconds(5))
        var invited: [String] = []
        for i in 0..<results {
            invited.append(
                await rig.lever.addOpportunity(name: "Result \(i)", emails: ["r\(i)@x.example"], posting: posting))
        }
        _ = try await rig.run(binary)
        for (i, id) in invited.enumerated() {
            if let interview = await rig.hubert.interviews(opportunityId: id).first {
                await rig.hubert.complete(interview.id, grade: HubertGrade.allCases[i % 3], score: Double(40 + i % 60))
            }
        }
        for i in 0..<invitations {
            _ = await rig.lever.addOpportunity(name: "New \(i)", emails: ["n\(i)@x.example"], posting: posting)
        }
        try await Task.sleep(for: .milliseconds(5))
        await rig.lever.setRateLimit((leverRate, 20))
        await rig.hubert.setRateLimit((hubertRate, 10))
        var faults = SandboxFaults()
        faults.latencyMs = latencyMs
        await rig.lever.setFaults(faults)
        await rig.hubert.setFaults(faults)
        let metrics = rig.dir.appendingPathComponent("bench.prom").path
        let (child, json) = try await rig.run(binary, ["--metrics-file", metrics])
        let (lever, hubert) = Self.requests(json)
        let counts = json["counts"] as? [String: Any] ?? [:]
        let prom = (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? ""
        let throttled = prom.split(separator: "\n").filter { $0.contains("class=\"429\"") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        let bound = max(Double(lever) / leverClient, Double(hubert) / hubertClient)
        let ratio = child.wallSeconds / bound
        print(
            "  invitations sent \(counts["invitationsSent"] ?? "?"), results applied \(counts["resultsApplied"] ?? "?")"
        )
        print(
            String(
                format: "  Lever requests %d at %.0f/s, Hubert requests %d at %.0f/s → lower bound %.1f s", lever,
                leverClient, hubert, hubertClient, bound))
        print(
            String(
                format:
                    "  wall %.1f s (process start to exit), ratio %.3f, 429s received %d, CPU %.1f s, peak RSS %.1f MB",
                child.wallSeconds, ratio, throttled, child.cpuSeconds, child.peakRSSMegabytes))
        await rig.stop()
        let ok =
            ratio <= 1.15 && throttled == 0 && (counts["invitationsSent"] as? Int) == invitations
            && (counts["resultsApplied"] as? Int) == results
        return String(
            format: "write pass: %.3f × the lower bound (≤ 1.15), %d 429s (0) — %@", ratio, throttled,
            ok ? "MET" : "NOT MET")
    }

    func scanPass() async throws -> String {
        print("\n[scan] a pass that scans \(scan) opportunities (no rate limit, no latency)")
        var rig = try await Rig(leverClientRate: 1_000_000, hubertClientRate: 1_000_000, concurrency: scanConcurrency)
        for pair in env {
            if let eq = pair.firstIndex(of: "=") {
                rig.extraEnvironment[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
        }
        let posting = await rig.lever.addPosting(text: "Scan", tags: ["Hubert: \(Bench.template)"])
        _ = try await rig.run(binary)
        try await Task.sleep(for: .milliseconds(5))
        for i in 0..<scan {
            _ = await rig.lever.addOpportunity(
                name: "Archived Applicant \(i)", emails: ["a\(i)@x.example"], posting: posting, archived: true)
        }
        let (child, json) = try await rig.run(binary)
        let counts = json["counts"] as? [String: Any] ?? [:]
        let (lever, _) = Self.requests(json)
        print(
            String(
                format: "  scanned %@ opportunities in %d Lever requests; wall %.1f s, CPU %.2f s, peak RSS %.1f MB",
                "\(counts["opportunitiesScanned"] ?? "?")", lever, child.wallSeconds, child.cpuSeconds,
                child.peakRSSMegabytes))
        await rig.stop()
        return String(
            format: "scan of %d: peak RSS %.1f MB (< 64 MB) — %@", scan, child.peakRSSMegabytes,
            child.peakRSSMegabytes < 64 && (counts["opportunitiesScanned"] as? Int) == scan ? "MET" : "NOT MET")
    }

    /// This process's resident set size, from /proc/self/statm.
    static func residentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    func decode() async throws {
        print("\n[decode] decoding real-shaped opportunity pages (100 per page, applications and stage expanded)")
        let lever = LeverSandbox(apiKey: Bench.leverKey)
        let posting = await lever.addPosting(text: "Decode", tags: ["Hubert: \(Bench.template)"])
        for i in 0..<100 {
            let id = await lever.addOpportunity(
                name: "Decode Person \(i)", emails: ["d\(i)@x.example"], posting: posting,
                phones: ["+46 70 123 45 \(i)"])
            await lever.move(id, to: "lead-reached-out")
            await lever.move(id, to: "applicant-new")
        }
        let request = SandboxRequest(
            method: "GET", path: "/v1/opportunities",
            query: [("expand", "applications"), ("expand", "stage"), ("limit", "100")],
            headers: ["authorization": "Basic " + Data((Bench.leverKey + ":").utf8).base64EncodedString()],
            body: Data())
        let renderStart = Date()
        for _ in 0..<20 { _ = await lever.respond(request) }
        let renderMs = Date().timeIntervalSince(renderStart) / 20 * 1000
        let body = await lever.respond(request).body
        print(String(format: "  (the sandbox renders such a page in %.1f ms)", renderMs))
        let rounds = 300
        let rssBefore = Self.residentMegabytes()
        let started = Date()
        var decoded = 0
        for _ in 0..<rounds {
            decoded += try JSONDecoder().decode(LeverPage<LeverOpportunity>.self, from: body).items.count
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            String(
                format: "  resident memory %.1f MB before, %.1f MB after decoding", rssBefore, Self.residentMegabytes())
        )

        print(
            String(
                format: "  %d opportunities (%d pages of %.1f kB) in %.2f s: %.0f opportunities/s, %.1f MB/s",
                decoded, rounds, Double(body.count) / 1024, seconds, Double(decoded) / seconds,
                Double(body.count * rounds) / seconds / 1_048_576))
    }
}
