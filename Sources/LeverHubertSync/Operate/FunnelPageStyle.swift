import Foundation

/// The funnel page's inline style sheet: light, dark and print, no fonts or images fetched.
extension FunnelPage {
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
