import Foundation
import GRDB

/// The ledger's queries for `status` (and the metrics file and the funnel page, which show the same report). Read
/// only, in one read transaction, so that every number comes from one snapshot.
extension Store {
    /// The status report: checkpoints and their lag, invitations by state, results not yet written back, problems
    /// that need a human, the last `limit` runs, and the funnel. `staleAfterDays`: an invitation with no result after
    /// that many days is stale. `since`: the funnel counts only applications created at or after it (ms;
    /// `applicant.applied_ms`, `invitation.applied_ms`); nil counts every applicant since each posting was tagged.
    public func statusReport(
        now: Millis, staleAfterDays: Int = 7, since: Millis? = nil, runs limit: Int = 10
    ) async throws -> StatusReport {
        try await read { db in
            var report = try Self.statusReport(db, now: now, staleAfterDays: staleAfterDays, since: since, runs: limit)
            report.requestRates = try Self.requestRates(db)
            return report
        }
    }

    /// The invitations of one state and interview status, and whether they are stale.
    private struct InvitationCount: Decodable, FetchableRecord {
        var state: InvitationRecord.State
        var status: String
        var stale: Bool
        var n: Int
    }

    /// The invitations by state; a sent invitation by the interview's status (`started`, `completed` …).
    static func invitationCounts(_ db: Database, staleBefore: Millis) throws -> StatusReport.Invitations {
        var invitations = StatusReport.Invitations()
        for row in try InvitationCount.fetchAll(
            db,
            sql: """
                SELECT state, coalesce(interview_status, '') AS status, (state = ? AND coalesce(interview_status, 'invited')
                    IN ('invited', 'started') AND coalesce(sent_ms, created_ms) < ?) AS stale, count(*) AS n
                FROM invitation GROUP BY 1, 2, 3
                """, arguments: [InvitationRecord.State.sent, staleBefore])
        {
            if row.stale { invitations.stale += row.n }
            switch (row.state, row.status) {
            case (.pending, _): invitations.pending += row.n
            case (.refused, _): invitations.refused += row.n
            case (_, "completed"): invitations.completed += row.n
            case (_, "expired"): invitations.expired += row.n
            case (_, "cancelled"): invitations.cancelled += row.n
            case (_, "started"): invitations.started += row.n
            default: invitations.sent += row.n
            }
        }
        return invitations
    }

    /// Interviews whose write-back is not finished: a step not confirmed, or a version due.
    static func resultsPending(_ db: Database) throws -> Int {
        try Int.fetchOne(
            db,
            sql: """
                SELECT count(*) FROM (SELECT interview_id FROM result_step WHERE state = ?
                                      UNION SELECT interview_id FROM result_due WHERE state = ?)
                """, arguments: [ResultStepRecord.State.pending, DueResult.State.due]) ?? 0
    }

    /// The status report inside a read transaction.
    static func statusReport(_ db: Database, now: Millis, staleAfterDays: Int, since: Millis?, runs limit: Int) throws
        -> StatusReport
    {
        let checkpoints = try CheckpointRecord.order(CheckpointRecord.Columns.stream).fetchAll(db).map {
            StatusReport.Checkpoint(
                stream: $0.stream, at: RFC3339.format($0.at), lagSeconds: max(0, (now - $0.at) / 1000))
        }
        let invitations = try invitationCounts(db, staleBefore: now - Int64(staleAfterDays) * 86_400_000)
        let resultsGivenUp = try DueResult.filter(DueResult.Columns.state == DueResult.State.givenUp).fetchCount(db)
        let problems = try ProblemRecord.order(ProblemRecord.Columns.lastSeen.desc).limit(200).fetchAll(db).map {
            StatusReport.ProblemRow($0)
        }
        let runs = try RunRecord.order(RunRecord.Columns.startedAt.desc).limit(limit).fetchAll(db).map {
            StatusReport.RunRow($0)
        }
        var report = StatusReport(
            checkpoints: checkpoints, invitations: invitations, resultsPending: try resultsPending(db),
            resultsGivenUp: resultsGivenUp, problems: problems, runs: runs,
            funnel: try funnel(db, since: since), funnelSince: since.map(RFC3339.format))
        report.held = try holdCounts(db)
        report.postings = try postingPeriods(db)
        return report
    }
}

extension StatusReport.ProblemRow {
    /// A problem as `status` shows it, with a link to it in Lever.
    init(_ problem: ProblemRecord) {
        let opportunity = problem.opportunityId
        let posting = problem.postingId
        self.init(
            opportunityId: opportunity.isEmpty ? nil : opportunity,
            postingId: posting.isEmpty ? nil : posting,
            reason: problem.reason, message: problem.message,
            leverURL: opportunity.isEmpty
                ? (posting.isEmpty ? nil : "https://hire.lever.co/jobs/\(posting)")
                : "https://hire.lever.co/candidates/\(opportunity)",
            lastSeen: RFC3339.format(problem.lastSeen))
    }
}

extension StatusReport.RunRow {
    /// A run as `status` shows it.
    init(_ run: RunRecord) {
        self.init(
            runId: run.id, kind: run.kind, startedAt: RFC3339.format(run.startedAt),
            finishedAt: run.finishedAt.map(RFC3339.format), exitCode: run.exitCode,
            counts: run.countsJSON.flatMap { try? JSONDecoder().decode(PassCounts.self, from: Data($0.utf8)) },
            requests: RequestCounts(lever: run.leverRequests, hubert: run.hubertRequests),
            message: run.message)
    }
}
