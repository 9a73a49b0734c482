import Foundation

/// Requests a pass sent, by service.
public struct RequestCounts: Codable, Sendable, Equatable {
    public var lever = 0
    public var hubert = 0
    public init(lever: Int = 0, hubert: Int = 0) {
        self.lever = lever
        self.hubert = hubert
    }
}

/// The outcome of one pass: what `--json` prints and what `status` keeps.
public struct PassReport: Codable, Sendable {
    /// The tool's version (`ToolVersion.current`).
    public var version: String = ToolVersion.current
    public var runId: String
    public var dryRun: Bool
    public var mode: String
    /// True when the configuration paused the sync and the pass did nothing.
    public var paused: Bool
    public var counts: PassCounts
    public var actions: [Action]
    public var problems: [Problem]
    public var requests: RequestCounts
    public var exitCode: Int32
    public var message: String?
    public var startedAt: String
    public var durationMs: Int64

    /// The report of a pass that stopped before it began (configuration, lock, database): the same shape as a
    /// finished pass, with zero counts and no actions or problems, so consumers read one schema.
    public static func early(
        runId: String, mode: String, dryRun: Bool, exitCode: Int32, message: String,
        now: Millis
    ) -> PassReport {
        PassReport(
            runId: runId, dryRun: dryRun, mode: mode, paused: false, counts: PassCounts(), actions: [],
            problems: [], requests: RequestCounts(), exitCode: exitCode, message: message,
            startedAt: RFC3339.format(now), durationMs: 0)
    }
}

/// Gathers what concurrent item tasks of one pass found.
actor PassCollector {
    var counts = PassCounts()
    var actions: [Action] = []
    var problems: [Problem] = []
    /// The problems already recorded, for an O(1) de-duplication.
    private var problemSet = Set<Problem>()
    /// 64-bit hashes of the opportunity ids examined in this pass: 8 bytes each keeps a 100,000-item scan small.
    var seenOpportunities = Set<UInt64>()
    /// Interviews already processed in this pass (settled first, then perhaps listed again).
    var seenInterviews = Set<UInt64>()
    /// Where actions are spooled as they are decided (`--json`); nil keeps them in `actions`.
    let stream: ReportStream?

    init(stream: ReportStream? = nil) { self.stream = stream }
    /// Opportunities Lever no longer has, forgotten in this pass: nothing found about them is recorded.
    var erased = Set<String>()
    /// Templates Hubert answered 403 for in this pass.
    var forbiddenTemplates = Set<String>()

    /// When the pass must stop taking new work (`sync.passDeadlineMinutes`), and whether it did.
    private(set) var deadline: Millis = .max
    private(set) var deadlineReached = false
    func setDeadline(_ at: Millis) { deadline = at }
    /// True from the first time `now` is at or past the deadline.
    func pastDeadline(now: Millis) -> Bool {
        if now >= deadline { deadlineReached = true }
        return deadlineReached
    }

    func forbid(template: String) { forbiddenTemplates.insert(template) }
    func isForbidden(template: String) -> Bool { forbiddenTemplates.contains(template) }

    /// Marks an interview as processed in this pass; false when it was already.
    func firstSightOfInterview(_ interviewId: String) -> Bool {
        seenInterviews.insert(FNV1a.hash(interviewId)).inserted
    }

    /// Forgets an opportunity: its problems are dropped from this pass's report.
    func erase(_ opportunityId: String) {
        erased.insert(opportunityId)
    }

    func isErased(_ opportunityId: String) -> Bool { erased.contains(opportunityId) }

    /// The problems to report and record: none about an erased opportunity.
    var reportedProblems: [Problem] {
        erased.isEmpty ? problems : problems.filter { !erased.contains($0.opportunityId ?? "") }
    }

    /// Marks an opportunity as examined in this pass; false when it was examined already (found by two queries).
    func firstSight(_ opportunityId: String) -> Bool {
        let inserted = seenOpportunities.insert(FNV1a.hash(opportunityId)).inserted
        if inserted { counts.opportunitiesScanned += 1 }
        return inserted
    }

    /// The opportunities of a page not examined yet in this pass, each marked as examined.
    func firstSights(_ opportunities: [LeverOpportunity]) -> [LeverOpportunity] {
        opportunities.filter { firstSight($0.id) }
    }

    func add(_ action: Action) {
        if let stream { stream.add(action) } else { actions.append(action) }
        counts[keyPath: action.type.count] += 1
    }

    /// Records a problem once per pass (an item found by two queries is one problem), counting it as failed if asked.
    func add(_ problem: Problem, failed: Bool = false) {
        guard problemSet.insert(problem).inserted else { return }
        problems.append(problem)
        if failed { counts.failed += 1 }
    }

    func skip() { counts.skipped += 1 }
    func resultApplied() { counts.resultsApplied += 1 }
    /// The postings this pass judged (read now, or known from the snapshot of the last read), undecodable ones
    /// included; a second read in the same pass replaces the first's count.
    func postingsScanned(_ n: Int) { counts.postingsScanned = n }
}
