import ArgumentParser
import Foundation
import LeverHubertSync
import Sandbox

extension Bench {
    /// The sandbox's request log as "METHOD /path" counts, opportunity ids folded into `:id`.
    static func endpoints(_ log: [String]) -> [(String, Int)] {
        var counts: [String: Int] = [:]
        for line in log {
            var parts = line.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if parts.count > 3, parts[2] == "opportunities", parts[3] != "deleted" { parts[3] = ":id" }
            counts[parts.joined(separator: "/"), default: 0] += 1
        }
        return counts.sorted { $0.value > $1.value }
    }

    static func opportunityPages(_ log: [String]) -> Int { log.filter { $0 == "GET /v1/opportunities" }.count }

    /// Singer's tap-lever (the `opportunities` stream) and `backfill --dry-run` over the same sandbox opportunities.
    func peer() async throws -> String {
        print("\n[peer] \(peerOpportunities) opportunities read by backfill --dry-run and by tap-lever (no latency)")
        guard let command = peerCommand?.split(separator: " ").map(String.init), let program = command.first else {
            throw ValidationError("--only peer needs --peer-command (see scripts/bench-peer)")
        }
        let rig = try await Rig(leverClientRate: 1_000_000, hubertClientRate: 1_000_000)
        let postings = 10
        var ids: [String] = []
        for i in 0..<postings {
            ids.append(await rig.lever.addPosting(text: "Peer \(i)", tags: ["Hubert: \(Bench.template)"]))
        }
        _ = try await rig.run(binary)
        // Spread over the last 7 days; both readers start one day before the first.
        let now = Date().millis
        let week: Millis = 7 * 86_400_000
        let step = max(1, week / Millis(max(1, peerOpportunities)))
        for i in 0..<peerOpportunities {
            _ = await rig.lever.addOpportunity(
                name: "Peer Applicant \(i)", emails: ["p\(i)@x.example"], posting: ids[i % postings],
                createdAt: now - week + Millis(i) * step)
        }
        let start = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(now - week) / 1000 - 86_400))
        let keys = ["LEVER_API_KEY": Bench.leverKey, "HUBERT_API_KEY": Bench.hubertKey, "PATH": "/usr/bin:/bin"]

        await rig.lever.clearLog()
        let ours = try await Spawn.run(
            binary, ["backfill", "--dry-run", "--json", "--since", start, "--config", rig.config], environment: keys)
        guard ours.status == 0 else {
            throw ValidationError("backfill failed with exit \(ours.status): \(ours.stderr.suffix(500))")
        }
        let oursLog = await rig.lever.requestLog
        let json = (try? JSONSerialization.jsonObject(with: Data(ours.stdout.utf8))) as? [String: Any] ?? [:]
        let counts = json["counts"] as? [String: Any] ?? [:]

        await rig.lever.clearLog()
        let origin = await rig.servers[0].origin
        let tap = try await Spawn.run(
            program, Array(command.dropFirst()),
            environment: [
                "LEVER_SANDBOX_URL": origin + "/v1", "LEVER_API_KEY": Bench.leverKey, "TAP_LEVER_START_DATE": start,
                "PATH": "/usr/bin:/bin",
            ])
        guard tap.status == 0 else {
            throw ValidationError("\(program) failed with exit \(tap.status): \(tap.stderr.suffix(800))")
        }
        let tapLog = await rig.lever.requestLog
        await rig.stop()

        let ourPages = Self.opportunityPages(oursLog)
        let tapPages = Self.opportunityPages(tapLog)
        func line(_ name: String, _ pages: Int, _ log: [String], _ child: ChildRun) {
            print(
                String(
                    format: "  %@ %d opportunity pages, %d Lever requests; wall %.1f s, CPU %.2f s, peak RSS %.1f MB",
                    name, pages, log.count, child.wallSeconds, child.cpuSeconds, child.peakRSSMegabytes))
            print("    " + Self.endpoints(log).map { "\($0.0) ×\($0.1)" }.joined(separator: ", "))
        }
        print("  since \(start); backfill scanned \(counts["opportunitiesScanned"] ?? "?") opportunities")
        line("lever-hubert-sync:", ourPages, oursLog, ours)
        line("tap-lever:        ", tapPages, tapLog, tap)
        if let summary = tap.stderr.split(separator: "\n").last(where: { $0.hasPrefix("tap_lever_runner summary:") }) {
            print("    " + summary)
        }
        print(
            String(
                format: "  ratios: pages tap/ours %.2f, CPU ours/tap %.3f, peak RSS ours/tap %.3f",
                Double(tapPages) / Double(max(1, ourPages)), ours.cpuSeconds / max(0.001, tap.cpuSeconds),
                ours.peakRSSMegabytes / max(0.001, tap.peakRSSMegabytes)))
        let pagesRatio = Double(ourPages) / Double(max(1, tapPages))
        let cpuFactor = tap.cpuSeconds / max(0.001, ours.cpuSeconds)
        return String(
            format: "beside tap-lever: %.2f × its pages (≤ 1.05), CPU %.1f × below it (≥ 3) — %@", pagesRatio,
            cpuFactor,
            pagesRatio <= 1.05 && cpuFactor >= 3 ? "MET" : "NOT MET")
    }
}
