import ArgumentParser
import Foundation
import LeverHubertSync
import Sandbox

extension Bench {
    /// Cron every N seconds while applicants arrive at random moments: the time from each application (Lever's
    /// `createdAt`) to its invitation (Hubert's `invitedAt`), with the binary run on a timer as cron would, each tick
    /// a new process (a tick that finds the previous pass still running exits 75, as the lock makes it).
    func latency() async throws -> String {
        let interval = Double(cronSeconds)
        print(
            "\n[latency] cron every \(cronSeconds) s for \(latencySeconds) s; \(latencyApplicants) applicants at random moments (latency \(latencyMs) ms, client budgets Lever 8/s, Hubert 4/s)"
        )
        let rig = try await Rig(leverClientRate: 8, hubertClientRate: 4)
        let posting = await rig.lever.addPosting(text: "Latency", tags: ["Hubert: \(Bench.template)"])
        var faults = SandboxFaults()
        faults.latencyMs = latencyMs
        await rig.lever.setFaults(faults)
        await rig.hubert.setFaults(faults)
        _ = try await rig.run(binary)

        // Arrival moments: uniform over the run (a Poisson process conditioned on the count), fixed seed.
        var generator = SplitMix64(seed: 20_261_202)
        let span = Double(latencySeconds)
        let moments = (0..<latencyApplicants).map { _ in Double.random(in: 0..<span, using: &generator) }.sorted()
        let lever = rig.lever
        let origin = Date()
        let arrivals = Task {
            var ids: [String: Millis] = [:]
            for (i, moment) in moments.enumerated() {
                let wait = moment - Date().timeIntervalSince(origin)
                if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                let id = await lever.addOpportunity(
                    name: "Latency Applicant \(i)", emails: ["l\(i)@x.example"], posting: posting)
                ids[id] = await lever.opportunity(id)?.createdAt
            }
            return ids
        }
        // The timer: a new process every interval, whether or not the previous one finished.
        let ticks = Int((span / interval).rounded(.up)) + 2
        var passes: [Task<Int32, Never>] = []
        let binary = self.binary
        for tick in 0..<ticks {
            let due = Double(tick + 1) * interval - Date().timeIntervalSince(origin)
            if due > 0 { try await Task.sleep(for: .milliseconds(Int(due * 1000))) }
            passes.append(
                Task {
                    let child = try? await Spawn.run(
                        binary, ["run", "--config", rig.config],
                        environment: ["LEVER_API_KEY": Bench.leverKey, "HUBERT_API_KEY": Bench.hubertKey])
                    return child?.status ?? -1
                })
        }
        var exits: [Int32: Int] = [:]
        for pass in passes { exits[await pass.value, default: 0] += 1 }
        let created = await arrivals.value
        var latencies: [Double] = []
        var missing = 0
        for (id, at) in created {
            if let invited = await rig.hubert.interviews(opportunityId: id).first?.invitedAt {
                latencies.append(Double(invited - at) / 1000)
            } else {
                missing += 1
            }
        }
        await rig.stop()
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty
                ? .nan : latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)]
        }
        let p95 = percentile(0.95)
        print(
            "  passes by exit status: "
                + exits.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        print(
            String(
                format: "  %d invited, %d not invited; application → invitation p50 %.1f s, p95 %.1f s, max %.1f s",
                latencies.count, missing, percentile(0.5), p95, latencies.last ?? .nan))
        let ok = missing == 0 && p95 <= interval + 5
        return String(
            format: "invitation latency with cron every %d s: p95 %.1f s (≤ %.0f s), %d missed — %@", cronSeconds, p95,
            interval + 5, missing, ok ? "MET" : "NOT MET")
    }

    /// A backfill dry run that plans one invitation per opportunity, `--json` to a pipe: peak RSS stays flat.
    func plan() async throws -> String {
        print("\n[plan] backfill --dry-run --json over \(planned) opportunities that each get an invitation")
        let rig = try await Rig(leverClientRate: 1_000_000, hubertClientRate: 1_000_000, concurrency: scanConcurrency)
        var postings: [String] = []
        for i in 0..<10 {
            postings.append(await rig.lever.addPosting(text: "Plan \(i)", tags: ["Hubert: \(Bench.template)"]))
        }
        _ = try await rig.run(binary)
        let now = Date().millis
        for i in 0..<planned {
            _ = await rig.lever.addOpportunity(
                name: "Planned Applicant \(i)", emails: ["p\(i)@x.example"], posting: postings[i % postings.count],
                createdAt: now - 86_400_000 + Millis(i))
        }
        let since = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(now) / 1000 - 2 * 86_400))
        let child = try await Spawn.run(
            binary, ["backfill", "--dry-run", "--json", "--since", since, "--config", rig.config],
            environment: ["LEVER_API_KEY": Bench.leverKey, "HUBERT_API_KEY": Bench.hubertKey])
        await rig.stop()
        let json = (try? JSONSerialization.jsonObject(with: Data(child.stdout.utf8))) as? [String: Any] ?? [:]
        let actions = (json["actions"] as? [Any])?.count ?? -1
        let invited = (json["counts"] as? [String: Any])?["invitationsSent"] as? Int ?? -1
        print(
            String(
                format:
                    "  exit %d, %d actions in the report (%.1f MB of JSON); wall %.1f s, CPU %.2f s, peak RSS %.1f MB",
                child.status, actions, Double(child.stdout.utf8.count) / 1_048_576, child.wallSeconds,
                child.cpuSeconds, child.peakRSSMegabytes))
        let ok = child.status == 0 && actions == planned && invited == planned && child.peakRSSMegabytes <= 64
        return String(
            format: "dry run planning %d invitations: peak RSS %.1f MB (≤ 64 MB) — %@", planned,
            child.peakRSSMegabytes, ok ? "MET" : "NOT MET")
    }
}

/// A small seeded generator, so that every run of the benchmark stages the same arrivals.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Bench {
    /// What the one `updated_at_start` query also returns in a busy account: every change to an opportunity of a
    /// tagged posting (a recruiter's tag, a move, the tool's own write-backs) brings it back once. Measured against
    /// what the two earlier queries (`created_at` and `advanced_at` with `stage_id`) would have returned.
    func busy() async throws -> String {
        let pipeline = 5_000
        let applied = 200
        let touched = 1_000
        print(
            "\n[busy] one window of a busy account: \(pipeline) opportunities in the pipeline of 10 tagged postings, \(applied) new applications, \(touched) others changed by recruiters"
        )
        let rig = try await Rig(leverClientRate: 1_000_000, hubertClientRate: 1_000_000)
        var postings: [String] = []
        for i in 0..<10 {
            postings.append(await rig.lever.addPosting(text: "Busy \(i)", tags: ["Hubert: \(Bench.template)"]))
        }
        let month: Millis = 30 * 86_400_000
        let now = Date().millis
        var existing: [String] = []
        for i in 0..<pipeline {
            existing.append(
                await rig.lever.addOpportunity(
                    name: "Pipeline \(i)", emails: ["q\(i)@x.example"], posting: postings[i % 10],
                    stage: "9b1e0c3a-5d2f-4c7e-8a61-2f4d8c1b7e01", createdAt: now - month + Millis(i)))
        }
        _ = try await rig.run(binary)
        try await Task.sleep(for: .milliseconds(5))
        _ = try await rig.run(binary)
        for i in 0..<applied {
            _ = await rig.lever.addOpportunity(
                name: "Busy \(i)", emails: ["b\(i)@x.example"], posting: postings[i % 10])
        }
        for id in existing.prefix(touched) { await rig.lever.tag(id, "Recruiter note") }
        await rig.lever.clearLog()
        let (child, json) = try await rig.run(binary)
        let log = await rig.lever.requestLog
        await rig.stop()
        let counts = json["counts"] as? [String: Any] ?? [:]
        let pages = Self.opportunityPages(log)
        // created_at over the window finds the new ones; advanced_at with stage_id=New applicant finds the same ones.
        let twoQueryPages = 2 * Int((Double(applied) / 100).rounded(.up))
        print(
            String(
                format:
                    "  returned %@ opportunities (%d new + %d changed) in %d pages; invited %@; the two queries would read %d pages; CPU %.2f s",
                "\(counts["opportunitiesScanned"] ?? "?")", applied, touched, pages,
                "\(counts["invitationsSent"] ?? "?")",
                twoQueryPages, child.cpuSeconds))
        return
            "busy window: \(pages) opportunity pages for \(applied) new and \(touched) changed (two queries: \(twoQueryPages)); \(counts["invitationsSent"] as? Int == applied ? "all invited" : "NOT all invited")"
    }
}
