import Foundation
import GRDB
import LeverHubertSync

/// `--only growth`: what a year of one-minute passes leaves in the database, and how long `status` takes then.
/// The rows a year of passes writes are inserted as the passes write them (a run row per minute; per day the
/// applicants, invitations, results, problems and a few given-up results of a busy account), and the store's own
/// retention (`Store.prune`, as a live pass calls it) runs every simulated hour. No network: the store alone.
extension Bench {
    func growth() async throws -> String {
        let days = growthDays
        print(
            "\n[growth] \(days) days of one-minute passes: \(growthApplicantsPerDay) applicants/day, "
                + "\(growthApplicantsPerDay * 7 / 10) results/day, retention 365 days"
                + (growthKeepIdleRuns ? ", idle runs kept a year (as before issue #20)" : ""))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-growth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("year.sqlite3").path
        let store = try Store(path: path)
        let raw = try DatabasePool(path: path)
        let day: Int64 = 86_400_000
        let t0: Int64 = 1_767_225_600_000  // 2026-01-01
        let idleCounts = String(decoding: try JSONEncoder().encode(PassCounts()), as: UTF8.self)
        var busyCounts = PassCounts()
        busyCounts.invitationsSent = 1
        busyCounts.opportunitiesScanned = 3
        let busyJSON = String(decoding: try JSONEncoder().encode(busyCounts), as: UTF8.self)
        let template = Bench.template
        let perDay = growthApplicantsPerDay
        let clock = ContinuousClock()
        let started = clock.now
        for d in 0..<days {
            let dayStart = t0 + Int64(d) * day
            try await raw.write { db in
                // One run per minute; the passes that invited or wrote something are not idle.
                let busyMinutes = Set((0..<min(1440, perDay * 2)).map { ($0 * 1440) / max(1, perDay * 2) })
                for minute in 0..<1440 {
                    let at = dayStart + Int64(minute) * 60_000
                    let busy = busyMinutes.contains(minute)
                    try db.execute(
                        sql: """
                            INSERT INTO run (id, kind, started_ms, finished_ms, exit_code, counts_json, lever_requests,
                                hubert_requests, message, idle)
                            VALUES (?, 'run', ?, ?, 0, ?, ?, 1, NULL, ?)
                            """,
                        arguments: [
                            UUID().uuidString.lowercased(), at, at + 900, busy ? busyJSON : idleCounts, busy ? 6 : 2,
                            !busy,
                        ])
                }
                for n in 0..<perDay {
                    let serial = d * perDay + n
                    let opportunity = UUID().uuidString.lowercased()
                    let interview = "iv_\(String(format: "%026d", serial))"
                    let at = dayStart + Int64(n) * (day / Int64(perDay))
                    try db.execute(
                        sql: """
                            INSERT INTO applicant (opportunity_id, template_id, posting_id, applied_ms, seen_ms)
                            VALUES (?, ?, 'posting-1', ?, ?)
                            """, arguments: [opportunity, template, at - 60_000, at])
                    try db.execute(
                        sql: """
                            INSERT INTO invitation (opportunity_id, template_id, posting_id, idempotency_key, state,
                                interview_id, interview_status, stage_at_invitation, created_ms, sent_ms, updated_ms,
                                applied_ms)
                            VALUES (?, ?, 'posting-1', ?, 'sent', ?, 'completed', 'applicant-new', ?, ?, ?, ?)
                            """,
                        arguments: [
                            opportunity, template, "lever-hubert-sync:invite:\(opportunity):\(template)", interview,
                            at, at + 1_000, at + 3 * day, at - 60_000,
                        ])
                    if n % 10 < 7 {
                        try db.execute(
                            sql: """
                                INSERT INTO applied_result (interview_id, opportunity_id, fingerprint, grade, applied_ms)
                                VALUES (?, ?, 'lead|80.0|70.0', 'lead', ?)
                                """, arguments: [interview, opportunity, at + 3 * day])
                        for step in ["note", "move"] {
                            try db.execute(
                                sql: """
                                    INSERT INTO result_step (interview_id, fingerprint, step, opportunity_id, state,
                                        marker, note_id, updated_ms)
                                    VALUES (?, 'lead|80.0|70.0', ?, ?, 'done', ?, NULL, ?)
                                    """,
                                arguments: [
                                    interview, step, opportunity, step == "note" ? "[lhs:\(interview)]" : nil,
                                    at + 3 * day,
                                ])
                        }
                    }
                    if n < 3 {
                        try db.execute(
                            sql: """
                                INSERT INTO problem (opportunity_id, posting_id, reason, message, first_seen_ms,
                                    last_seen_ms, run_id)
                                VALUES (?, 'posting-1', 'missing_email', ?, ?, ?, 'r')
                                """,
                            arguments: [
                                opportunity, "opportunity \(opportunity) has no e-mail address", at, at + 2 * day,
                            ])
                    }
                }
                if d % 7 == 0 {
                    // A result given up, its note intent never confirmed.
                    let interview = "iv_gone_\(d)"
                    try db.execute(
                        sql: """
                            INSERT INTO result_due (interview_id, opportunity_id, fingerprint, state, first_due_ms,
                                last_attempt_ms, attempts, last_error)
                            VALUES (?, 'o', 'f', 'given_up', ?, ?, 3, 'HTTP 500')
                            """, arguments: [interview, dayStart, dayStart + 8 * day])
                    try db.execute(
                        sql: """
                            INSERT INTO result_step (interview_id, fingerprint, step, opportunity_id, state, marker,
                                updated_ms)
                            VALUES (?, 'f', 'note', 'o', 'pending', '[m]', ?)
                            """, arguments: [interview, dayStart])
                }
            }
            for hour in 0..<24 {
                let now = dayStart + Int64(hour) * 3_600_000
                _ = try await store.prune(
                    before: now - 365 * day, idleRunsBefore: growthKeepIdleRuns ? nil : now - day)
            }
        }
        let simulated = clock.now - started
        try await raw.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let counts = try await raw.read { db in
            try ["run", "applicant", "invitation", "applied_result", "result_step", "result_due", "problem"].map {
                "\($0) \(try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? 0)"
            }
        }
        let now = t0 + Int64(days) * day
        var times: [Double] = []
        for _ in 0..<5 {
            let start = clock.now
            _ = try await store.statusReport(now: now)
            let elapsed = clock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        let statusSeconds = times.sorted()[2]
        let megabytes = Double(bytes) / 1_048_576
        print("  simulated in \(simulated); rows: \(counts.joined(separator: ", "))")
        print(String(format: "  database %.1f MB; status (median of 5) %.3f s", megabytes, statusSeconds))
        let sizeTarget = 64.0
        let timeTarget = 1.0
        let met = megabytes < sizeTarget && statusSeconds < timeTarget
        return String(
            format: "growth: a year of one-minute passes — database %.1f MB (target < %.0f MB), status %.3f s "
                + "(target < %.1f s): %@", megabytes, sizeTarget, statusSeconds, timeTarget, met ? "met" : "NOT met")
    }
}
