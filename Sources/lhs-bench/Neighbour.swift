import ArgumentParser
import Foundation
import LeverHubertSync
import Sandbox

/// Options of the neighbour part (`--only neighbour`).
struct NeighbourOptions: ParsableArguments {
    @Option(help: "The Lever key's rate limit in the neighbour part (requests/s; Lever's is 10).")
    var keyRate = 10.0
    @Option(help: "The Lever key's burst in the neighbour part (Lever's is 20).")
    var keyBurst = 20
    @Option(help: "The share of the key's rate another integration spends, no retries (0…1).")
    var neighbourShare = 0.7
    @Option(help: "lever.requestsPerSecond of the measured sync in the neighbour part.")
    var neighbourClientRate = 8.0
    @Option(help: "Results written back by each measured pass of the neighbour part.")
    var neighbourResults = 120
}

extension Bench {
    /// One measured results pass: its exit, Lever requests, 429s and wall time.
    struct ThrottledPass {
        var run: ChildRun
        var leverRequests: Int
        var lever429s: Int
        var resultsApplied: Int
        var learned: Double?
        var served: Int { leverRequests - lever429s }
        var share: Double { leverRequests == 0 ? 0 : Double(lever429s) / Double(leverRequests) }
    }

    /// A results pass through the binary, whatever its exit (the 429s come from the metrics file).
    func throttledPass(_ rig: Rig, name: String) async throws -> ThrottledPass {
        let metrics = rig.dir.appendingPathComponent("\(name).prom").path
        let child = try await Spawn.run(
            binary, ["run", "--json", "--config", rig.config, "--metrics-file", metrics],
            environment: ["LEVER_API_KEY": Bench.leverKey, "HUBERT_API_KEY": Bench.hubertKey, "PATH": "/usr/bin:/bin"])
        let json = (try? JSONSerialization.jsonObject(with: Data(child.stdout.utf8))) as? [String: Any] ?? [:]
        let prom = (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? ""
        func sample(_ match: (Substring) -> Bool) -> Double? {
            prom.split(separator: "\n").filter { !$0.hasPrefix("#") && match($0) }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.first
        }
        let throttled = prom.split(separator: "\n")
            .filter {
                $0.contains("http_responses{") && $0.contains("service=\"lever\"") && $0.contains("class=\"429\"")
            }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        let learned = sample { $0.contains("request_rate_per_second{service=\"lever\",kind=\"learned\"}") }
        let counts = json["counts"] as? [String: Any] ?? [:]
        return ThrottledPass(
            run: child, leverRequests: Self.requests(json).lever, lever429s: throttled,
            resultsApplied: counts["resultsApplied"] as? Int ?? 0, learned: learned)
    }

    /// Completes the interviews of `ids` in Hubert: the next pass writes their results back.
    static func complete(_ rig: Rig, _ ids: [String]) async {
        for (i, id) in ids.enumerated() {
            if let interview = await rig.hubert.interviews(opportunityId: id).first {
                await rig.hubert.complete(interview.id, grade: HubertGrade.allCases[i % 3], score: Double(40 + i % 60))
            }
        }
        try? await Task.sleep(for: .milliseconds(5))
    }

    /// A results pass on a Lever key shared with another integration that steadily spends a share of it (no
    /// retries): the sync's own 429s, the neighbour's, the exit, and the wall time against the rate left; then the
    /// same pass alone on the key, and a next pass beside the neighbour starting from the learned rate.
    func neighbour() async throws -> String {
        let o = neighbourOptions
        let neighbourRate = o.keyRate * o.neighbourShare
        let left = o.keyRate - neighbourRate
        let n = o.neighbourResults
        print(
            String(
                format:
                    "\n[neighbour] results passes of %d on a Lever key of %.1f/s (burst %d) shared with a neighbour at %.1f/s; lever.requestsPerSecond %.1f, latency %d ms",
                n, o.keyRate, o.keyBurst, neighbourRate, o.neighbourClientRate, latencyMs))
        let rig = try await Rig(leverClientRate: o.neighbourClientRate, hubertClientRate: 100)
        let posting = await rig.lever.addPosting(text: "Neighbour", tags: ["Hubert: \(Bench.template)"])
        _ = try await rig.run(binary)
        try await Task.sleep(for: .milliseconds(5))
        var batches: [[String]] = [[], [], []]
        for batch in 0..<3 {
            for i in 0..<(batch == 2 ? max(1, n / 4) : n) {
                batches[batch].append(
                    await rig.lever.addOpportunity(
                        name: "Result \(batch) \(i)", emails: ["r\(batch)-\(i)@x.example"], posting: posting))
            }
        }
        _ = try await rig.run(binary)
        var faults = SandboxFaults()
        faults.latencyMs = latencyMs
        await rig.lever.setFaults(faults)
        await rig.hubert.setFaults(faults)
        await rig.lever.setRateLimit((o.keyRate, o.keyBurst))

        // Alone on the key: as fast as before, no 429.
        await Self.complete(rig, batches[0])
        let alone = try await throttledPass(rig, name: "alone")
        let aloneBound = Double(alone.leverRequests) / o.neighbourClientRate
        let aloneRatio = alone.run.wallSeconds / aloneBound
        print(
            String(
                format:
                    "  alone: exit %d, results %d, Lever requests %d, 429s %d; wall %.1f s, bound %d ÷ %.1f/s = %.1f s, ratio %.3f (≤ 1.15)",
                alone.run.status, alone.resultsApplied, alone.leverRequests, alone.lever429s, alone.run.wallSeconds,
                alone.leverRequests, o.neighbourClientRate, aloneBound, aloneRatio))

        // Beside the neighbour: it runs alone for a few seconds first (it gets no 429 then).
        let neighbour = LeverNeighbour(lever: rig.lever, apiKey: Bench.leverKey, rate: neighbourRate)
        await neighbour.start()
        try await Task.sleep(for: .seconds(5))
        let aloneNeighbour = await (neighbour.sent, neighbour.throttled)
        await neighbour.resetCounts()
        await Self.complete(rig, batches[1])
        let beside = try await throttledPass(rig, name: "beside")
        let besideNeighbour = await (neighbour.sent, neighbour.throttled, neighbour.throttledShare)
        let besideBound = Double(beside.served) / left
        let besideRatio = beside.run.wallSeconds / besideBound
        print(
            String(
                format:
                    "  neighbour alone for 5 s: %d requests, %d 429s", aloneNeighbour.0, aloneNeighbour.1))
        print(
            String(
                format:
                    "  beside it: exit %d, results %d, Lever requests %d, 429s %d (%.1f%%); neighbour 429s %d of %d (%.1f%%)",
                beside.run.status, beside.resultsApplied, beside.leverRequests, beside.lever429s, beside.share * 100,
                besideNeighbour.1, besideNeighbour.0, besideNeighbour.2 * 100))
        print(
            String(
                format:
                    "  wall %.1f s, bound %d served ÷ %.1f/s left = %.1f s, ratio %.3f (≤ 1.5); sync's rate %.2f/s; learned %@",
                beside.run.wallSeconds, beside.served, left, besideBound, besideRatio,
                Double(beside.served) / beside.run.wallSeconds,
                beside.learned.map { String(format: "%.2f/s", $0) } ?? "-"
            ))

        // The next pass starts from the learned rate.
        await neighbour.resetCounts()
        await Self.complete(rig, batches[2])
        let next = try await throttledPass(rig, name: "next")
        let nextNeighbour = await (neighbour.sent, neighbour.throttled, neighbour.throttledShare)
        await neighbour.stop()
        print(
            String(
                format:
                    "  next pass (from the learned rate): exit %d, results %d, Lever requests %d, 429s %d (%.1f%%); neighbour 429s %d of %d (%.1f%%); wall %.1f s",
                next.run.status, next.resultsApplied, next.leverRequests, next.lever429s, next.share * 100,
                nextNeighbour.1, nextNeighbour.0, nextNeighbour.2 * 100, next.run.wallSeconds))
        await rig.stop()

        let met =
            alone.run.status == 0 && alone.lever429s == 0 && aloneRatio <= 1.15 && beside.run.status == 0
            && beside.share <= 0.10 && besideNeighbour.2 <= 0.15 && aloneNeighbour.1 == 0 && besideRatio <= 1.5
            && beside.resultsApplied == n
        return String(
            format:
                "neighbour at %.0f%% of the key: exit %d, own 429s %.1f%% (≤ 10%%), neighbour's %.1f%% (≤ 15%%), wall %.2f × served ÷ rate left (≤ 1.5); alone %.3f × bound (≤ 1.15), %d 429s (0) — %@",
            o.neighbourShare * 100, beside.run.status, beside.share * 100, besideNeighbour.2 * 100, besideRatio,
            aloneRatio, alone.lever429s, met ? "MET" : "NOT MET")
    }
}
