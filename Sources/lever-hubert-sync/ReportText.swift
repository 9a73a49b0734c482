import Foundation
import LeverHubertSync

/// The human-readable summary of a pass.
enum ReportText {
    static func render(_ report: PassReport) -> String {
        let c = report.counts
        var lines: [String] = []
        let what = report.mode == "backfill" ? "Backfill" : "Pass"
        lines.append("\(what) \(report.runId)\(report.dryRun ? " (dry run: nothing written)" : "")")
        lines.append("  postings scanned: \(c.postingsScanned), opportunities scanned: \(c.opportunitiesScanned)")
        lines.append(
            "  invitations\(report.dryRun ? " to send" : " sent"): \(c.invitationsSent), results written back: \(c.resultsApplied)"
        )
        lines.append(
            "  tags +\(c.tagsAdded)/-\(c.tagsRemoved), notes \(c.notesAdded), links \(c.linksAdded), stage moves \(c.stageMoves)"
        )
        lines.append(
            "  skipped: \(c.skipped), failed: \(c.failed), requests: Lever \(report.requests.lever), Hubert \(report.requests.hubert)"
        )
        if !report.actions.isEmpty {
            lines.append("Actions:")
            for action in report.actions { lines.append("  " + action.description) }
        }
        if !report.problems.isEmpty {
            lines.append("Problems:")
            for problem in report.problems { lines.append("  [\(problem.reason)] \(problem.message)") }
        }
        if let message = report.message { lines.append("Stopped: \(message) (exit \(report.exitCode))") }
        return lines.joined(separator: "\n")
    }

}
