import Foundation

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
    /// A tagged posting's current tagging period (`end` null while the tag is current).
    public struct PostingPeriod: Codable, Sendable, Equatable {
        public var postingId: String
        public var templateId: String
        public var periodStart: String
        /// `null` while the tag is current.
        @ExplicitNull public var periodEnd: String?
        public var periods: Int
    }
    /// One service's request rate as the last pass left it: what it learned (the next pass starts there), the
    /// configured ceiling, and its 429s.
    public struct RequestRate: Codable, Sendable, Equatable {
        /// `lever` or `hubert`.
        public var service: String
        /// The configured `requestsPerSecond` (a ceiling).
        public var configuredPerSecond: Double
        /// The rate the last pass ended with; the next pass starts from it.
        public var learnedPerSecond: Double
        /// The lowest rate of the last pass.
        public var lowestLastRunPerSecond: Double
        /// Throttling answers (429, 503 with Retry-After) in the last pass that talked to the service.
        public var throttledLastRun: Int
        /// Throttling answers over the database's life.
        public var throttledTotal: Int
        /// When the last pass learned it (RFC 3339).
        public var learnedAt: String
    }
    public var checkpoints: [Checkpoint]
    public var invitations: Invitations
    /// Held-back candidates by reason (`hold_given_up` for those given up after `sync.holdDays`).
    public var held: [String: Int] = [:]
    /// Every posting that ever carried a Hubert tag, with its latest tagging period.
    public var postings: [PostingPeriod] = []
    public var resultsPending: Int
    /// Results whose write-back kept failing for `sync.giveUpAfterDays` and was given up.
    public var resultsGivenUp: Int = 0
    public var problems: [ProblemRow]
    public var runs: [RunRow]
    /// Per tagged posting: applied → invited → completed → grades, and the invitation latency (see `FunnelEntry`).
    public var funnel: [FunnelEntry] = []
    /// The funnel's cohort start (`status --since`) as RFC 3339; nil (omitted) when it counts everything.
    public var funnelSince: String?
    /// Per service that a pass has talked to: the learned request rate and 429s.
    public var requestRates: [RequestRate]?

    /// Reads the status from the store, in one read transaction (`Store.statusReport`). `staleAfterDays`: an
    /// invitation with no result after that many days is stale. `since`: the funnel counts only applications created
    /// at or after it (ms; `applicant.applied_ms`, `invitation.applied_ms`); nil counts every applicant since each
    /// posting was tagged.
    public static func load(
        store: Store, now: Millis, staleAfterDays: Int = 7, since: Millis? = nil,
        runs limit: Int = 10
    ) async throws -> StatusReport {
        try await store.statusReport(now: now, staleAfterDays: staleAfterDays, since: since, runs: limit)
    }
}
