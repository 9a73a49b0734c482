import Foundation
import GRDB

/// What `status` shows: checkpoints and their lag, invitations by state, results not yet written back,
/// problems that need a human, the last runs, and the funnel of every tagged posting.
public struct StatusReport: Codable, Sendable {
    public struct Checkpoint: Codable, Sendable {
        public var stream: String
        public var at: String
        public var lagSeconds: Int64
    }
    public struct Invitations: Codable, Sendable {
        public var pending = 0, sent = 0, started = 0, completed = 0, expired = 0, cancelled = 0, refused = 0, stale = 0
    }
    public struct ProblemRow: Codable, Sendable {
        public var opportunityId: String?
        public var postingId: String?
        public var reason: String
        public var message: String
        public var leverURL: String?
        public var lastSeen: String
    }
    public struct RunRow: Codable, Sendable {
        public var runId: String
        /// `run` or `backfill` (as `mode` in JSON, with `kind` kept for earlier consumers).
        public var kind: String
        public var startedAt: String
        public var finishedAt: String?
        /// Null while the run is unfinished (or was killed).
        public var exitCode: Int?
        public var counts: PassCounts?
        public var requests: RequestCounts
        public var message: String?

        enum CodingKeys: String, CodingKey {
            case runId, mode, kind, dryRun, startedAt, finishedAt, exitCode, counts, requests, message
        }

        public init(
            runId: String, kind: String, startedAt: String, finishedAt: String?, exitCode: Int?,
            counts: PassCounts?, requests: RequestCounts, message: String?
        ) {
            self.runId = runId
            self.kind = kind
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.exitCode = exitCode
            self.counts = counts
            self.requests = requests
            self.message = message
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            runId = try c.decode(String.self, forKey: .runId)
            kind = try c.decodeIfPresent(String.self, forKey: .mode) ?? c.decode(String.self, forKey: .kind)
            startedAt = try c.decode(String.self, forKey: .startedAt)
            finishedAt = try c.decodeIfPresent(String.self, forKey: .finishedAt)
            exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode)
            counts = try c.decodeIfPresent(PassCounts.self, forKey: .counts)
            requests = try c.decode(RequestCounts.self, forKey: .requests)
            message = try c.decodeIfPresent(String.self, forKey: .message)
        }

        /// As `docs/cli.md` shows it: `mode`, `dryRun` (recorded runs are never dry runs), and `exitCode`
        /// present as `null` while unfinished.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(runId, forKey: .runId)
            try c.encode(kind, forKey: .mode)
            try c.encode(kind, forKey: .kind)
            try c.encode(false, forKey: .dryRun)
            try c.encode(startedAt, forKey: .startedAt)
            try c.encode(finishedAt, forKey: .finishedAt)
            try c.encode(exitCode, forKey: .exitCode)
            try c.encode(counts, forKey: .counts)
            try c.encode(requests, forKey: .requests)
            try c.encode(message, forKey: .message)
        }
    }
    public var checkpoints: [Checkpoint]
    public var invitations: Invitations
    public var resultsPending: Int
    /// Results whose write-back kept failing for `sync.giveUpAfterDays` and was given up.
    public var resultsGivenUp: Int = 0
    public var problems: [ProblemRow]
    public var runs: [RunRow]
    /// Per tagged posting: applied → invited → completed → grades, and the invitation latency (see `FunnelEntry`).
    public var funnel: [FunnelEntry] = []
    /// The funnel's cohort start (`status --since`) as RFC 3339; nil (omitted) when it counts everything.
    public var funnelSince: String?

    /// Reads the status from the store, in one read transaction. `staleAfterDays`: an invitation with no result
    /// after that many days is stale. `since`: the funnel counts only applications created at or after it (ms;
    /// `applicant.applied_ms`, `invitation.applied_ms`); nil counts every applicant since each posting was tagged.
    public static func load(
        store: Store, now: Millis, staleAfterDays: Int = 7, since: Millis? = nil,
        runs limit: Int = 10
    ) async throws -> StatusReport {
        try await store.read { db in
            var checkpoints: [Checkpoint] = []
            for row in try Row.fetchAll(db, sql: "SELECT stream, at_ms FROM checkpoint ORDER BY stream") {
                let at: Int64 = row["at_ms"]
                checkpoints.append(
                    Checkpoint(stream: row["stream"], at: RFC3339.format(at), lagSeconds: max(0, (now - at) / 1000)))
            }
            var invitations = Invitations()
            let staleBefore = now - Int64(staleAfterDays) * 86_400_000
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT state, coalesce(interview_status, '') AS status, (state = 'sent' AND coalesce(interview_status, 'invited')
                        IN ('invited', 'started') AND coalesce(sent_ms, created_ms) < ?) AS stale, count(*) AS n
                    FROM invitation GROUP BY 1, 2, 3
                    """, arguments: [staleBefore])
            {
                let n: Int = row["n"]
                let state: String = row["state"]
                let status: String = row["status"]
                if (row["stale"] as Int) == 1 { invitations.stale += n }
                switch (state, status) {
                case ("pending", _): invitations.pending += n
                case ("refused", _): invitations.refused += n
                case (_, "completed"): invitations.completed += n
                case (_, "expired"): invitations.expired += n
                case (_, "cancelled"): invitations.cancelled += n
                case (_, "started"): invitations.started += n
                default: invitations.sent += n
                }
            }
            let resultsPending =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM (SELECT interview_id FROM result_step WHERE state = 'pending'
                                              UNION SELECT interview_id FROM result_due WHERE state = 'due')
                        """) ?? 0
            let resultsGivenUp =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM result_due WHERE state = 'given_up'") ?? 0
            var problems: [ProblemRow] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM problem ORDER BY last_seen_ms DESC LIMIT 200") {
                let opportunity: String = row["opportunity_id"]
                let posting: String = row["posting_id"]
                problems.append(
                    ProblemRow(
                        opportunityId: opportunity.isEmpty ? nil : opportunity,
                        postingId: posting.isEmpty ? nil : posting,
                        reason: row["reason"], message: row["message"],
                        leverURL: opportunity.isEmpty
                            ? (posting.isEmpty ? nil : "https://hire.lever.co/jobs/\(posting)")
                            : "https://hire.lever.co/candidates/\(opportunity)",
                        lastSeen: RFC3339.format(row["last_seen_ms"])))
            }
            var runs: [RunRow] = []
            for row in try Row.fetchAll(
                db, sql: "SELECT * FROM run ORDER BY started_ms DESC LIMIT ?", arguments: [limit])
            {
                let countsJSON: String? = row["counts_json"]
                let finished: Int64? = row["finished_ms"]
                runs.append(
                    RunRow(
                        runId: row["id"], kind: row["kind"], startedAt: RFC3339.format(row["started_ms"]),
                        finishedAt: finished.map(RFC3339.format), exitCode: row["exit_code"],
                        counts: countsJSON.flatMap { try? JSONDecoder().decode(PassCounts.self, from: Data($0.utf8)) },
                        requests: RequestCounts(lever: row["lever_requests"], hubert: row["hubert_requests"]),
                        message: row["message"]))
            }
            return StatusReport(
                checkpoints: checkpoints, invitations: invitations, resultsPending: resultsPending,
                resultsGivenUp: resultsGivenUp, problems: problems, runs: runs,
                funnel: try Store.funnel(db, since: since), funnelSince: since.map(RFC3339.format))
        }
    }
}
