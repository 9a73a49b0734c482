import Foundation

/// The funnel page that `status --html PATH` writes: one self-contained HTML file for recruiting leads. A header
/// (last run and its exit, checkpoint lag, totals), then per tagged posting the funnel applied → invited →
/// completed → grades as inline SVG, the invitation latency, the same numbers in a table, and the posting's open
/// problems in plain words.
///
/// Self-contained: inline CSS, no script, nothing fetched (no `src`, no link to a style sheet or font, no
/// `url()`), readable offline, in print and in dark mode, and with a screen reader (real tables with captions and
/// header scopes; each SVG is `role="img"` with a title). Every string from data is HTML-escaped. The ledger holds
/// no candidate names or e-mail addresses, and the page shows none.
public enum FunnelPage {
    /// The page for `report` (its `funnel`, `runs`, `checkpoints`, `problems`), generated at `now`. Pure.
    public static func render(_ report: StatusReport, now: Millis) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>Hubert interview funnel · \(esc(clock(now)))</title>
            <style>
            \(style)
            </style>
            </head>
            <body>
            <main>

            """
        html += header(report, now: now)
        if report.funnel.isEmpty {
            html += "<p class=\"calm\">No posting takes part yet: none has been seen with a Hubert tag.</p>\n"
        }
        for (index, entry) in report.funnel.enumerated() {
            html += section(entry, id: "posting-\(index + 1)")
        }
        html += otherPostings(report)
        html += footer
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    /// Writes the page to `path` atomically (a temporary file beside it, then rename), mode 0644.
    /// The temporary file is made with `O_CREAT|O_EXCL|O_NOFOLLOW` under an unpredictable name (`AtomicFile`);
    /// `temporaryName`: its suffix (tests).
    public static func write(
        _ html: String, to path: String, temporaryName: () -> String = AtomicFile.uniqueSuffix
    ) throws {
        guard AtomicFile.write(Array(html.utf8), to: path, mode: 0o644, temporaryName: temporaryName) else {
            throw ConfigError("cannot write the funnel page \(path)")
        }
    }

    // MARK: Parts

    static func header(_ report: StatusReport, now: Millis) -> String {
        var out =
            "<header>\n<h1>Hubert interview funnel</h1>\n<p class=\"lede\">Generated \(esc(clock(now))) "
            + "from the sync's ledger. "
        if let since = report.funnelSince {
            out += "Counting applications created since \(esc(clock(since))).</p>\n"
        } else {
            out += "Counting every application since each posting started taking part.</p>\n"
        }
        var items: [(String, String, String)] = []  // (term, value HTML, class of the card)
        if let run = report.runs.first {
            let (words, tone) = exitWords(run.exitCode)
            let kind = run.kind == "backfill" ? "backfill" : "scheduled run"
            items.append(
                (
                    "Last run",
                    "\(esc(clock(run.startedAt))), \(esc(kind))<br><span class=\"\(tone)\">"
                        + "\(esc(words))</span>", "wide"
                ))
        } else {
            items.append(("Last run", "none yet", "wide"))
        }
        let streams = [
            (SyncEngine.leverStream, "Lever applications read"),
            (SyncEngine.hubertStream, "Hubert results read"),
        ]
        for (stream, term) in streams {
            if let checkpoint = report.checkpoints.first(where: { $0.stream == stream }) {
                items.append((term, esc(ago(checkpoint.lagSeconds)), ""))
            }
        }
        let totals = report.funnel.reduce(into: [Int](repeating: 0, count: 6)) { t, e in
            t[0] += e.applied
            t[1] += e.invited
            t[2] += e.completed
            t[3] += e.lead
            t[4] += e.passed
            t[5] += e.notQualified
        }
        items.append(("Applied", "\(totals[0])", "number"))
        items.append(("Invited", "\(totals[1])", "number"))
        items.append(
            (
                "Completed",
                "\(totals[2])<span class=\"sub\">\(totals[3]) Lead · \(totals[4]) Passed · "
                    + "\(totals[5]) Not Qualified</span>", "number"
            ))
        items.append(("Open problems", "\(report.problems.count)", "number"))
        out += "<dl class=\"summary\">\n"
        for (term, value, cls) in items {
            out += "<div\(cls.isEmpty ? "" : " class=\"\(cls)\"")><dt>\(esc(term))</dt><dd>\(value)</dd></div>\n"
        }
        out += "</dl>\n</header>\n"
        return out
    }

    static func name(_ entry: FunnelEntry) -> String { entry.postingName ?? "Posting \(entry.postingId)" }

    static func section(_ entry: FunnelEntry, id: String) -> String {
        let title = name(entry)
        var out = "<section class=\"posting\" aria-labelledby=\"\(id)\">\n"
        out += "<h2 id=\"\(id)\">\(esc(title))</h2>\n"
        out +=
            "<p class=\"ids\">Lever posting \(esc(entry.postingId)) · Hubert interview "
            + "\(esc(entry.templateId))</p>\n"
        out += funnelSVG(entry, id: id)
        out += "<p class=\"latency\">\(esc(latencySentence(entry.inviteLatencySeconds)))</p>\n"
        out += table(entry)
        out += "<h3>Needs attention</h3>\n"
        if entry.openProblems.isEmpty {
            out += "<p class=\"calm\">Nothing needs attention.</p>\n"
        } else {
            out += "<ul class=\"problems\">\n"
            for problem in entry.openProblems { out += "<li>\(esc(problem.sentence))</li>\n" }
            out += "</ul>\n"
        }
        out += "</section>\n"
        return out
    }

    /// The funnel as horizontal bars on one scale: applied, invited, completed (split into the grades), and a
    /// legend of the grades.
    static func funnelSVG(_ entry: FunnelEntry, id: String) -> String {
        let label =
            "\(name(entry)): \(entry.applied) applied, \(entry.invited) invited, \(entry.completed) completed "
            + "(\(entry.lead) Lead, \(entry.passed) Passed, \(entry.notQualified) Not Qualified)"
        let barX = 120.0
        let barWidth = 400.0
        let rowHeight = 26.0
        let step = 40.0
        let scale = Double(max(1, entry.applied, entry.invited, entry.completed))
        func width(_ n: Int) -> Double { (Double(n) / scale * barWidth * 10).rounded() / 10 }
        func num(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        var out =
            "<svg class=\"funnel\" role=\"img\" aria-labelledby=\"\(id)-title\" viewBox=\"0 0 600 152\">\n"
            + "<title id=\"\(id)-title\">\(esc(label))</title>\n"
        let rows: [(String, Int, [(String, Int)])] = [
            ("Applied", entry.applied, [("applied", entry.applied)]),
            ("Invited", entry.invited, [("invited", entry.invited)]),
            (
                "Completed", entry.completed,
                [("lead", entry.lead), ("passed", entry.passed), ("not-qualified", entry.notQualified)]
            ),
        ]
        for (index, row) in rows.enumerated() {
            let y = Double(index) * step
            out += "<text x=\"0\" y=\"\(num(y + 18))\">\(row.0)</text>\n"
            out +=
                "<rect class=\"track\" x=\"\(num(barX))\" y=\"\(num(y))\" width=\"\(num(barWidth))\" "
                + "height=\"\(num(rowHeight))\" rx=\"3\"/>\n"
            var x = barX
            for (cls, n) in row.2 where n > 0 {
                let w = max(2, width(n))
                out +=
                    "<rect class=\"\(cls) bar\" x=\"\(num(x))\" y=\"\(num(y))\" width=\"\(num(w))\" "
                    + "height=\"\(num(rowHeight))\"/>\n"
                x += w
            }
            out += "<text class=\"value\" x=\"\(num(barX + barWidth + 12))\" y=\"\(num(y + 18))\">\(row.1)</text>\n"
        }
        let legend: [(String, String, Int)] = [
            ("lead", "Lead", entry.lead), ("passed", "Passed", entry.passed),
            ("not-qualified", "Not Qualified", entry.notQualified),
        ]
        var x = barX
        for (cls, text, n) in legend {
            out += "<rect class=\"\(cls)\" x=\"\(num(x))\" y=\"128\" width=\"14\" height=\"14\"/>"
            out += "<text class=\"legend\" x=\"\(num(x + 20))\" y=\"140\">\(text) \(n)</text>\n"
            x += 135
        }
        out += "</svg>\n"
        return out
    }

    static func table(_ entry: FunnelEntry) -> String {
        func share(_ n: Int) -> String {
            entry.applied == 0 ? "—" : "\(Int((Double(n) / Double(entry.applied) * 100).rounded()))%"
        }
        var out =
            "<div class=\"tables\">\n<table class=\"numbers\">\n"
            + "<caption>\(esc(name(entry))) in numbers</caption>\n"
        out +=
            "<thead><tr><th scope=\"col\">Step</th><th scope=\"col\">Candidates</th>"
            + "<th scope=\"col\">Of those who applied</th></tr></thead>\n<tbody>\n"
        let rows: [(String, Int, Bool)] = [
            ("Applied", entry.applied, false), ("Invited", entry.invited, false), ("Completed", entry.completed, false),
            ("Lead", entry.lead, true), ("Passed", entry.passed, true), ("Not Qualified", entry.notQualified, true),
        ]
        for (label, n, grade) in rows {
            out +=
                "<tr\(grade ? " class=\"grade\"" : "")><th scope=\"row\">\(label)</th><td>\(n)</td>"
                + "<td>\(share(n))</td></tr>\n"
        }
        out += "</tbody>\n</table>\n"
        let latency = entry.inviteLatencySeconds
        out +=
            "<table class=\"numbers time\">\n<caption>Time to invitation</caption>\n"
            + "<thead><tr><th scope=\"col\">Measure</th><th scope=\"col\">Time</th></tr></thead>\n<tbody>\n"
        out +=
            "<tr><th scope=\"row\">Median (p50)</th>"
            + "<td>\(latency.map { esc(duration($0.p50)) } ?? "—")</td></tr>\n"
        out +=
            "<tr><th scope=\"row\">95th percentile (p95)</th>"
            + "<td>\(latency.map { esc(duration($0.p95)) } ?? "—")</td></tr>\n"
        out += "</tbody>\n</table>\n</div>\n"
        return out
    }

    /// Posting problems of postings that are not in the funnel (a malformed tag, an unknown template): they take
    /// no part, and a recruiter should know why.
    static func otherPostings(_ report: StatusReport) -> String {
        let inFunnel = Set(report.funnel.map(\.postingId))
        struct PostingReason: Hashable {
            var postingId: String
            var reason: String
        }
        var seen = Set<PostingReason>()
        let rows = report.problems.filter { problem in
            guard problem.opportunityId == nil, let posting = problem.postingId, !inFunnel.contains(posting) else {
                return false
            }
            return seen.insert(PostingReason(postingId: posting, reason: problem.reason)).inserted
        }
        guard !rows.isEmpty else { return "" }
        var out = "<section class=\"posting other\" aria-labelledby=\"other-postings\">\n"
        out += "<h2 id=\"other-postings\">Postings that do not take part</h2>\n<ul class=\"problems\">\n"
        for row in rows.sorted(by: { ($0.postingId ?? "", $0.reason) < ($1.postingId ?? "", $1.reason) }) {
            let sentence = FunnelWords.sentence(reason: row.reason, postingLevel: true, count: 1)
            out += "<li>Lever posting \(esc(row.postingId ?? "")). \(esc(sentence))</li>\n"
        }
        out += "</ul>\n</section>\n"
        return out
    }

    static let footer = """
        <footer>
        <p><strong>Applied</strong>: everyone who applied to the posting, or was moved into New applicant, after the \
        posting started taking part, invited or not. <strong>Invited</strong>: invitations Hubert confirmed. \
        <strong>Completed</strong>: interview results written back to Lever; the grades are those that stand now, \
        after any regrade. <strong>Time to invitation</strong> runs from the application's creation in Lever to \
        Hubert's confirmation (median and 95th percentile, nearest rank), so a candidate moved into New applicant \
        later counts that wait too.</p>
        </footer>

        """
}
