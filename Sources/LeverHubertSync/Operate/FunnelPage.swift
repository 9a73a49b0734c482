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
    /// The temporary file is made with `O_CREAT|O_EXCL|O_NOFOLLOW` under an unpredictable name (`AtomicFile`).
    public static func write(_ html: String, to path: String) throws {
        guard AtomicFile.write(Array(html.utf8), to: path, mode: 0o644) else {
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

    // MARK: Words

    static func latencySentence(_ latency: FunnelEntry.Latency?) -> String {
        guard let latency else { return "No invitation has been confirmed yet, so there is no time to invitation." }
        return "Invitations went out a median of \(duration(latency.p50)) after the application; "
            + "95% within \(duration(latency.p95))."
    }

    /// How old a checkpoint is: "under a minute ago", "5 min ago".
    static func ago(_ seconds: Int64) -> String {
        seconds < 60 ? "under a minute ago" : "\(duration(Double(seconds))) ago"
    }

    static func exitWords(_ code: Int?) -> (String, String) {
        switch code {
        case nil: ("did not finish (still running, or stopped)", "warn")
        case 0?: ("finished normally", "ok")
        case 75?: ("stopped early; the next run picks up (exit 75)", "warn")
        case 77?: ("a Lever or Hubert key was refused (exit 77): IT must act", "bad")
        case 78?: ("the configuration is invalid (exit 78): IT must act", "bad")
        case let code?: ("ended with exit \(code)", "bad")
        }
    }

    /// A duration for people: "under 0.1 s", "0.4 s", "45 s", "1 min 35 s", "2 h 5 min", "3 d 4 h".
    static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 0.05 { return "under 0.1 s" }
        if s < 10 { return String(format: "%.1f s", s) }
        let whole = Int(s.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return whole % 60 == 0 ? "\(whole / 60) min" : "\(whole / 60) min \(whole % 60) s" }
        if whole < 86_400 {
            let minutes = (whole % 3600) / 60
            return minutes == 0 ? "\(whole / 3600) h" : "\(whole / 3600) h \(minutes) min"
        }
        let hours = (whole % 86_400) / 3600
        return hours == 0 ? "\(whole / 86_400) d" : "\(whole / 86_400) d \(hours) h"
    }

    /// "2026-12-02 06:30 UTC".
    static func clock(_ millis: Millis) -> String { clock(RFC3339.format(millis)) }

    /// "2026-12-02T06:30:00.000Z" → "2026-12-02 06:30 UTC"; anything else as it is.
    static func clock(_ rfc3339: String) -> String {
        guard rfc3339.count >= 16, RFC3339.parse(rfc3339) != nil else { return rfc3339 }
        return rfc3339.prefix(16).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    /// HTML-escapes text for element content and quoted attributes.
    static func esc(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    // MARK: Style

    static let style = """
        :root {
          color-scheme: light dark;
          --bg: #f7f7f5; --card: #ffffff; --fg: #1c1e21; --muted: #5a6068; --line: #d8dbde; --track: #eceef0;
          --applied: #5b7db1; --invited: #3f8fb0; --lead: #2f7d4f; --passed: #3b73b9; --not-qualified: #9aa0a6;
          --ok: #2f7d4f; --warn: #9a5b00; --bad: #b3261e;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #15171a; --card: #1d2024; --fg: #e7e8ea; --muted: #a4aab1; --line: #353a40; --track: #2a2e34;
            --applied: #7d9fd3; --invited: #5fb0cf; --lead: #5fbf85; --passed: #6f9fe0; --not-qualified: #8b9096;
            --ok: #6fcf97; --warn: #e8b35a; --bad: #f28b82;
          }
        }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--fg);
          font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
        main { max-width: 58rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
        h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
        h2 { font-size: 1.3rem; margin: 0; }
        h3 { font-size: 1rem; margin: 1.25rem 0 .25rem; }
        .lede, .ids, .calm, footer { color: var(--muted); }
        .lede { margin: 0 0 1.25rem; }
        .summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .75rem;
          margin: 0 0 2rem; }
        .summary div { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: .6rem .85rem; }
        .summary dt { color: var(--muted); font-size: .85rem; }
        .summary .wide { grid-column: span 2; }
        @media (max-width: 26rem) { .summary .wide { grid-column: auto; } }
        .summary dd { margin: 0; font-weight: 600; }
        .summary .number dd { font-size: 1.35rem; font-variant-numeric: tabular-nums; }
        .summary .sub { display: block; font-size: .8rem; font-weight: normal; color: var(--muted); }
        .ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
        .posting { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
          padding: 1.25rem 1.5rem; margin: 0 0 1.5rem; }
        .ids { font-size: .85rem; margin: .15rem 0 1rem; overflow-wrap: anywhere; }
        svg.funnel { display: block; width: 100%; max-width: 40rem; height: auto; }
        svg.funnel text { fill: var(--fg); font-size: 15px; }
        svg.funnel text.value { font-weight: 600; }
        svg.funnel text.legend { font-size: 13px; fill: var(--muted); }
        .track { fill: var(--track); }
        .bar { stroke: var(--card); stroke-width: 1.5; }
        .applied { fill: var(--applied); } .invited { fill: var(--invited); } .lead { fill: var(--lead); }
        .passed { fill: var(--passed); } .not-qualified { fill: var(--not-qualified); }
        .latency { margin: .75rem 0 0; }
        .tables { display: flex; flex-wrap: wrap; gap: 0 2.5rem; align-items: flex-start; }
        table.numbers { border-collapse: collapse; margin: 1rem 0 0; font-variant-numeric: tabular-nums; }
        caption { text-align: left; font-weight: 600; padding-bottom: .35rem; }
        th, td { padding: .3rem .9rem .3rem 0; border-bottom: 1px solid var(--line); text-align: left; }
        thead th { color: var(--muted); font-size: .85rem; font-weight: 600; }
        tbody th { font-weight: normal; }
        td { text-align: right; }
        tr.grade th { padding-left: 1.25rem; }
        .problems { margin: .25rem 0 0; padding-left: 1.25rem; }
        .problems li { margin: .2rem 0; }
        .calm { margin: .25rem 0 0; }
        footer { font-size: .85rem; margin-top: 2rem; }
        @media print {
          :root { --bg: #ffffff; --card: #ffffff; --fg: #000000; --muted: #333333; --line: #999999; --track: #eeeeee;
            --applied: #5b7db1; --invited: #3f8fb0; --lead: #2f7d4f; --passed: #3b73b9; --not-qualified: #9aa0a6;
            --ok: #1e6b3a; --warn: #8a4f00; --bad: #a1221b; }
          * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          body { font-size: 11pt; }
          main { max-width: none; padding: 0; }
          .posting { break-inside: avoid; border-radius: 0; }
        }
        """
}
