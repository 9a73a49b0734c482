import Foundation
import Logging
import Sandbox
import Testing

@testable import LeverHubertSync

/// The funnel page: parsed as text (numbers, escaping, nothing fetched, structure), and opened in a real browser.
@Suite struct FunnelPageTests {
    static let now: Millis = 1_796_000_000_000
    static let hostile = "<script>alert(\"x\")</script> & 'Co' <img src=https://evil.example/x.png>"
    static let escapedHostile =
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39; "
        + "&lt;img src=https://evil.example/x.png&gt;"

    /// A status with two funnel postings (one named with markup, one without a known name), a posting that takes
    /// no part, and problem rows that carry Lever URLs (which the page must not show).
    static func report() -> StatusReport {
        let lastSeen = RFC3339.format(now - 30_000)
        return StatusReport(
            checkpoints: [
                .init(stream: SyncEngine.hubertStream, at: RFC3339.format(now - 120_000), lagSeconds: 120),
                .init(stream: SyncEngine.leverStream, at: RFC3339.format(now - 300_000), lagSeconds: 300),
            ],
            invitations: .init(), resultsPending: 0,
            problems: [
                .init(
                    opportunityId: nil, postingId: "bad-posting", reason: "invalid_hubert_tag", message: "tag 12345",
                    leverURL: "https://hire.lever.co/jobs/bad-posting", lastSeen: lastSeen),
                .init(
                    opportunityId: "o-1", postingId: "p-2", reason: "missing_email", message: "no e-mail",
                    leverURL: "https://hire.lever.co/candidates/o-1", lastSeen: lastSeen),
            ],
            runs: [
                .init(
                    runId: "r-2", kind: "run", startedAt: RFC3339.format(now - 60_000),
                    finishedAt: RFC3339.format(now - 55_000), exitCode: 75, counts: nil,
                    requests: RequestCounts(lever: 3, hubert: 1), message: nil),
                .init(
                    runId: "r-1", kind: "run", startedAt: RFC3339.format(now - 960_000),
                    finishedAt: RFC3339.format(now - 950_000), exitCode: 0, counts: nil,
                    requests: RequestCounts(lever: 3, hubert: 1), message: nil),
            ],
            funnel: [
                FunnelEntry(
                    postingId: "p-1", postingName: hostile, templateId: "61f080d9414018eda48a7380",
                    applied: 41, invited: 38, completed: 30, lead: 9, passed: 14, notQualified: 7,
                    inviteLatencySeconds: FunnelEntry.Latency(seconds: [95, 290])),
                FunnelEntry(
                    postingId: "p-2", postingName: nil, templateId: "5e2b91c04d7a3f18b6c2e9a1",
                    applied: 12, invited: 0,
                    openProblems: [
                        .init(reason: "template_inactive", scope: "posting", count: 1),
                        .init(reason: "missing_email", scope: "opportunity", count: 2),
                    ]),
            ])
    }

    /// The text between a posting's heading and the end of its section.
    static func section(_ html: String, heading: String) throws -> String {
        let start = try #require(html.range(of: heading), "no section headed \(heading)")
        let rest = html[start.lowerBound...]
        let end = try #require(rest.range(of: "</section>"))
        return String(rest[..<end.upperBound])
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func eachPostingsNumbersAreInItsTable() throws {
        let html = FunnelPage.render(Self.report(), now: Self.now)
        let first = try Self.section(html, heading: "<h2 id=\"posting-1\">\(Self.escapedHostile)</h2>")
        for (label, value, share) in [
            ("Applied", 41, "100%"), ("Invited", 38, "93%"), ("Completed", 30, "73%"),
            ("Lead", 9, "22%"), ("Passed", 14, "34%"), ("Not Qualified", 7, "17%"),
        ] {
            #expect(
                first.contains("<th scope=\"row\">\(label)</th><td>\(value)</td><td>\(share)</td>"),
                "posting 1 lacks \(label) \(value)")
        }
        #expect(first.contains("<th scope=\"row\">Median (p50)</th><td>1 min 35 s</td>"))
        #expect(first.contains("<th scope=\"row\">95th percentile (p95)</th><td>4 min 50 s</td>"))
        #expect(first.contains("Nothing needs attention."))
        #expect(first.contains("role=\"img\""))
        #expect(first.contains("41 applied, 38 invited, 30 completed (9 Lead, 14 Passed, 7 Not Qualified)"))

        let second = try Self.section(html, heading: "<h2 id=\"posting-2\">Posting p-2</h2>")
        for (label, value) in [("Applied", 12), ("Invited", 0), ("Completed", 0), ("Lead", 0)] {
            #expect(second.contains("<th scope=\"row\">\(label)</th><td>\(value)</td>"), "posting 2 lacks \(label)")
        }
        #expect(second.contains("<th scope=\"row\">Median (p50)</th><td>—</td>"))
        #expect(second.contains("No invitation has been confirmed yet"))
        #expect(
            second.contains(
                "<li>2 candidates have no e-mail address in Lever, so Hubert cannot invite them: add it and the next run invites them.</li>"
            ))
        #expect(second.contains("The posting&#39;s Hubert interview is archived; reactivate it in Hubert."))
        #expect(!second.contains("missing_email") && !second.contains("template_inactive"), "no reason codes")

        // The header: the last run (the newest), its exit in words, the checkpoint lag, the totals.
        let header = try #require(html.components(separatedBy: "</header>").first)
        #expect(header.contains("2026-11-30 00:52 UTC, scheduled run"))
        #expect(header.contains("stopped early; the next run picks up (exit 75)"))
        #expect(header.contains("<dt>Lever applications read</dt><dd>5 min ago</dd>"))
        #expect(header.contains("<dt>Hubert results read</dt><dd>2 min ago</dd>"))
        #expect(header.contains("<dt>Applied</dt><dd>53</dd>"))
        #expect(header.contains("<dt>Invited</dt><dd>38</dd>"))
        #expect(header.contains("9 Lead · 14 Passed · 7 Not Qualified"))
        // A posting that takes no part is named with why, in words.
        #expect(
            html.contains(
                "Lever posting bad-posting. The posting&#39;s Hubert tag is malformed; fix the tag in "
                    + "Lever."))
    }

    @Test func stringsFromDataAreEscaped() {
        let html = FunnelPage.render(Self.report(), now: Self.now)
        #expect(!html.contains(Self.hostile))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(Self.count(Self.escapedHostile, in: html) == 3, "heading, SVG title, caption")
        #expect(FunnelPage.esc("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;")
    }

    @Test func thePageFetchesNothingAndHasNoScript() {
        let html = FunnelPage.render(Self.report(), now: Self.now).lowercased()
        // The hostile name holds "src=https://": it must appear only escaped inside text, never as markup.
        let markup = html.replacingOccurrences(of: Self.escapedHostile.lowercased(), with: "")
        for needle in [
            "http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link", "<iframe",
            "<object", "<embed", "<img", "javascript:", "@font-face",
        ] {
            #expect(!markup.contains(needle), "the page holds \(needle)")
        }
    }

    @Test func thePageIsOneWellFormedDocument() {
        let html = FunnelPage.render(Self.report(), now: Self.now)
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"))
        #expect(Self.count("<html", in: html) == 1 && Self.count("</html>", in: html) == 1)
        #expect(Self.count("<head>", in: html) == 1 && Self.count("<body>", in: html) == 1)
        #expect(Self.count("<title>", in: html) == 1, "one document title (SVG titles carry an id)")
        #expect(html.contains("<title>Hubert interview funnel · 2026-11-30 00:53 UTC</title>"))
        for tag in [
            "section", "table", "caption", "thead", "tbody", "tr", "svg", "ul", "dl", "main", "header",
            "footer", "style",
        ] {
            let opened = Self.count("<\(tag)>", in: html) + Self.count("<\(tag) ", in: html)
            #expect(opened == Self.count("</\(tag)>", in: html), "<\(tag)> opened \(opened) times, closed otherwise")
        }
        #expect(Self.count("<table", in: html) == Self.count("<caption>", in: html), "every table has a caption")
        #expect(Self.count("<svg", in: html) == Self.count("role=\"img\"", in: html))
        #expect(html.contains("@media (prefers-color-scheme: dark)"))
        #expect(html.contains("@media print"))
        #expect(!html.contains("@example.com"), "no e-mail address")
    }

    @Test func aLedgerWithNoTaggedPostingSaysSo() {
        let empty = StatusReport(checkpoints: [], invitations: .init(), resultsPending: 0, problems: [], runs: [])
        let html = FunnelPage.render(empty, now: Self.now)
        #expect(html.contains("No posting takes part yet"))
        #expect(html.contains("<dt>Last run</dt><dd>none yet</dd>"))
    }

    @Test func theFileIsWrittenWholeAndReadableByOthers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("funnel.html").path
        try FunnelPage.write("old", to: path)
        try FunnelPage.write("<!DOCTYPE html>new", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "<!DOCTYPE html>new")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["funnel.html"], "no temp file")
        #expect(throws: (any Error).self) { try FunnelPage.write("x", to: directory.path + "/missing/funnel.html") }
    }

    @Test(
        arguments: [
            (0.02, "under 0.1 s"), (0.44, "0.4 s"), (45, "45 s"), (95, "1 min 35 s"), (120, "2 min"),
            (7500, "2 h 5 min"),
            (3600, "1 h"), (273_600, "3 d 4 h"), (-3, "under 0.1 s"),
        ] as [(Double, String)])
    func durationsReadLikeARecruiterSaysThem(seconds: Double, text: String) {
        #expect(FunnelPage.duration(seconds) == text)
    }

    @Test func theDemoWritesThePageNextToItsDatabaseAndNamesNoCandidate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("demo.sqlite3").path
        let outcome = try await Demo.run(
            databasePath: database,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        ) { _ in }
        let page = directory.appendingPathComponent("funnel.html").path
        #expect(outcome.lines.last == "Funnel page: \(page)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<h2 id=\"posting-1\">Customer Support Agent</h2>"))
        #expect(html.contains("<h2 id=\"posting-2\">Warehouse Associate</h2>"))
        #expect(html.contains("1 candidate does not allow contact"), "the opted-out candidate waits for consent")
        #expect(!html.contains("no e-mail address in Lever"), "the candidate whose e-mail was added left the page")
        for name in ["Ada Lovelace", "Lovelace", "Grace", "Alan Turing", "李小龙", "Katherine", "@example.com"] {
            #expect(!html.contains(name), "the page names \(name)")
        }
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: page)[.posixPermissions] as? Int)
        #expect(mode == 0o644)
    }

    // MARK: In a real browser

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Distinct colours (sampled every second pixel of every second row), the share of the commonest colour, and
    /// the mean luma (0–255) of a PNG: a minimal decoder with zlib, since PIL is not there.
    static let pngStats = #"""
        import sys, zlib, struct
        d = open(sys.argv[1], 'rb').read()
        assert d[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
        pos, idat = 8, []
        while pos < len(d):
            n, = struct.unpack('>I', d[pos:pos+4]); t = d[pos+4:pos+8]; c = d[pos+8:pos+8+n]
            if t == b'IHDR': w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', c)
            if t == b'IDAT': idat.append(c)
            pos += 12 + n
        assert depth == 8 and ctype in (2, 6) and interlace == 0, 'unsupported PNG'
        bpp = 3 if ctype == 2 else 4
        raw = zlib.decompress(b''.join(idat)); stride = w * bpp
        prev = bytearray(stride); counts = {}; i = 0; luma = 0
        for y in range(h):
            f = raw[i]; line = bytearray(raw[i+1:i+1+stride]); i += 1 + stride
            if f == 1:
                for x in range(bpp, stride): line[x] = (line[x] + line[x-bpp]) & 255
            elif f == 2:
                line = bytearray((a + b) & 255 for a, b in zip(line, prev))
            elif f == 3:
                for x in range(stride): line[x] = (line[x] + (((line[x-bpp] if x >= bpp else 0) + prev[x]) >> 1)) & 255
            elif f == 4:
                for x in range(stride):
                    a = line[x-bpp] if x >= bpp else 0; b = prev[x]; c = prev[x-bpp] if x >= bpp else 0
                    p = a + b - c; pa = abs(p - a); pb = abs(p - b); pc = abs(p - c)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
            prev = line
            if y % 2 == 0:
                for x in range(0, stride, bpp * 2):
                    px = bytes(line[x:x+3]); counts[px] = counts.get(px, 0) + 1
        sampled = sum(counts.values())
        top = max(counts.values())
        mean = sum((0.299*p[0] + 0.587*p[1] + 0.114*p[2]) * n for p, n in counts.items()) / sampled
        print(len(counts), round(top / sampled, 4), round(mean, 1))
        """#

    static func run(_ executable: String, _ arguments: [String]) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("lhs-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let (out, err) = (tmp.appendingPathComponent("out").path, tmp.appendingPathComponent("err").path)
        let child = try Child(executable, arguments, stdout: out, stderr: err)
        while child.isRunning { usleep(5_000) }
        return (
            child.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        )
    }

    @Test(
        .enabled(
            if: chromium != nil && python != nil,
            "chromium (apt-get install -y chromium) or python3 is missing: the page is not opened in a browser"))
    func thePageOpenedInChromiumIsNotBlankInLightAndDarkMode() async throws {
        // The page of a real sandbox world (the same one the funnel numbers are checked on).
        let world = try await FunnelTests.world()
        let report = try await StatusReport.load(store: world.env.store(), now: Date().millis)
        let page = world.env.directory.appendingPathComponent("funnel.html").path
        try FunnelPage.write(FunnelPage.render(report, now: Date().millis), to: page)
        var luma: [String: Double] = [:]
        for scheme in ["light", "dark"] {
            let png = world.env.directory.appendingPathComponent("funnel-\(scheme).png").path
            let shot = try Self.run(
                "/bin/bash",
                [
                    Self.root.appendingPathComponent("scripts/screenshot-page").path,
                    page, png, scheme,
                ])
            #expect(shot.status == 0, "screenshot-page \(scheme): \(shot.stderr)")
            let stats = try Self.run(try #require(Self.python), ["-c", Self.pngStats, png])
            #expect(stats.status == 0, "\(stats.stderr)")
            let fields = stats.stdout.split(separator: " ")
                .compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            try #require(fields.count == 3, "unexpected output: \(stats.stdout) \(stats.stderr)")
            #expect(fields[0] > 50, "\(scheme): only \(Int(fields[0])) distinct colours — a blank page?")
            #expect(fields[1] < 0.99, "\(scheme): \(fields[1] * 100)% of the page is one colour")
            luma[scheme] = fields[2]
        }
        #expect((luma["light"] ?? 0) > 160, "light mode is light")
        #expect((luma["dark"] ?? 255) < 96, "dark mode is dark (prefers-color-scheme: dark)")
    }
}
