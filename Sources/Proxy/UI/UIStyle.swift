/// The UI's stylesheet. The timeline marks use the harness report's shapes and colours (`TimelineReport.css`), so
/// a replay's picture and the proxy's live one read the same; every mark has a shape as well as a colour.
enum UIStyle {
    static let css = #"""
        :root{--ink:#111;--muted:#555;--line:#ccc;--bg:#fff;--panel:#f6f7f9;--accent:#1f4e9c;--ok:#145a24;
          --bad:#8a1b0e;--warn:#7a4a00;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px}
        *{box-sizing:border-box}
        body{margin:0;color:var(--ink);background:var(--bg)}
        a{color:var(--accent)}
        .skip{position:absolute;left:-9999px;top:0;background:#fff;padding:6px 10px;z-index:10}
        .skip:focus{left:8px}
        .sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        :focus-visible{outline:3px solid var(--accent);outline-offset:2px}
        button:focus-visible,a:focus-visible,select:focus-visible,input:focus-visible,textarea:focus-visible{
          outline:3px solid var(--accent);outline-offset:2px;box-shadow:0 0 0 5px #c9d8f2}
        header.top{display:flex;align-items:center;gap:18px;padding:8px 18px;background:#1d2430;color:#fff;
          flex-wrap:wrap}
        header.top h1{font-size:18px;margin:0;white-space:nowrap}
        header.top .logo{color:#f0a020}
        header.top nav{display:flex;gap:4px}
        header.top nav a{color:#dfe6f2;text-decoration:none;padding:6px 12px;border-radius:4px}
        header.top nav a:hover{background:#2e3a4d}
        header.top nav a[aria-current=page]{background:#fff;color:#1d2430;font-weight:600}
        header.top :focus-visible{outline-color:#f0a020;box-shadow:none}
        .key{display:flex;align-items:center;gap:6px;margin-left:auto}
        .key label{font-size:13px;color:#dfe6f2}
        .key input{width:130px}
        .conn{font-size:13px;min-width:110px}
        .conn.ok{color:#9fe0b0}.conn.bad{color:#ffb4a8;font-weight:600}
        main{padding:10px 18px 30px;outline:none}
        h2{font-size:18px;margin:0}h3{font-size:15px;margin:14px 0 6px}
        .bar{display:flex;align-items:center;gap:10px;margin:6px 0 8px;flex-wrap:wrap}
        .msg{color:var(--muted);font-size:13px}.msg.bad{color:var(--bad);font-weight:600}
        .msg.ok{color:var(--ok)}
        .hint{color:var(--muted);font-size:13px}
        .small{font-size:13px;font-weight:normal;margin-left:8px}
        button{font:inherit;padding:4px 12px;border:1px solid #8a94a6;border-radius:4px;background:#eef1f6;
          color:var(--ink);cursor:pointer}
        button:hover:not(:disabled){background:#dde4ef}
        button:disabled{color:#999;border-color:#ccc;background:#f4f4f4;cursor:default}
        button.primary{background:var(--accent);color:#fff;border-color:var(--accent)}
        input,select,textarea{font:inherit;padding:3px 6px;border:1px solid #8a94a6;border-radius:3px;
          background:#fff;color:var(--ink)}
        table.grid{border-collapse:collapse;width:100%;font-size:13px}
        table.grid th,table.grid td{border-bottom:1px solid #e2e5ea;padding:4px 8px;text-align:left;
          vertical-align:top;white-space:nowrap}
        table.grid th{background:var(--panel);position:sticky;top:0;font-weight:600;border-bottom:1px solid var(--line)}
        table.grid td.num,table.grid th.num{text-align:right;font-variant-numeric:tabular-nums}
        table.grid tbody tr:hover{background:#f3f6fb}
        table.grid td.wrap{white-space:normal}
        .scroll{max-height:calc(100vh - 170px);overflow:auto;border:1px solid #e2e5ea}
        .filters{display:flex;gap:14px;align-items:center;flex-wrap:wrap;margin-bottom:8px;font-size:13px}
        .state{display:inline-block;padding:0 8px;border-radius:10px;border:1px solid;font-size:12px}
        .state.loaded{color:var(--ok);background:#d9f2df}
        .state.loading,.state.stopping{color:var(--warn);background:#fdf0d2;border-style:dashed}
        .state.stopped{color:#555;background:#eee}
        .status{font-weight:600}.status.s2{color:var(--ok)}.status.s4{color:var(--warn)}
        .status.s5{color:var(--bad)}.status.live{color:var(--accent)}
        .flag{display:inline-block;font-size:11px;border:1px solid;border-radius:3px;padding:0 4px;margin-right:3px}
        .flag.bad{color:var(--bad)}.flag.warn{color:var(--warn)}
        .facts{margin:4px 0 8px;font-size:13px;color:#222}
        .facts b{font-weight:600}
        .timeline-tools{font-size:13px;margin-bottom:4px}
        .timeline-box{border:1px solid #e2e5ea;background:#fff;padding:4px;overflow-x:auto}
        .timeline-box .empty{color:var(--muted);padding:18px}
        .timeline-box .note{font-size:12px;color:var(--muted);margin:2px 6px}
        .timeline-box details{font-size:12px;margin:4px 6px}
        .timeline-box details table{border-collapse:collapse}
        .timeline-box details td,.timeline-box details th{padding:1px 8px;border-bottom:1px solid #eee;text-align:left}
        svg.timeline,svg.legend{display:block;max-width:100%;height:auto}
        svg.timeline:focus-visible{outline:3px solid var(--accent)}
        svg text{font-size:12px;font-family:system-ui,sans-serif;fill:#222}
        svg text.lane{text-anchor:end}svg text.tick{text-anchor:middle}svg text.unit{text-anchor:end;fill:#555}
        svg text.end{text-anchor:end}svg text.evlabel{font-size:11px;fill:#444}
        line.lane{stroke:#ddd;stroke-width:1}line.axis,line.tick{stroke:#333;stroke-width:1}
        rect.write{fill:#1f4e9c}circle.read{fill:#fff;stroke:#2a7d3f;stroke-width:2}
        rect.readspan{fill:#fff;stroke:#2a7d3f;stroke-width:2}
        path.heartbeat{fill:#f0a020;stroke:#7a4a00;stroke-width:1}
        path.withheld{fill:#fff;stroke:#b36b00;stroke-width:2;stroke-dasharray:3 2}
        rect.attempt{fill:#d4d4d4;stroke:#555;stroke-width:1}rect.attempt.live{fill:#e4eaf5;stroke-dasharray:4 3}
        path.reqmark{fill:#555}
        line.deadline{stroke:#c0392b;stroke-width:2;stroke-dasharray:6 4}text.deadline{fill:#c0392b}
        line.pending{stroke:#999;stroke-width:1.5}text.pending{fill:#777}
        line.now{stroke:#1f4e9c;stroke-width:1.5}text.now{fill:#1f4e9c}
        path.giveup{stroke:#c0392b;stroke-width:3;fill:none}
        path.upclose{stroke:#6a1b9a;stroke-width:2;stroke-dasharray:2 2}
        .capture{display:grid;grid-template-columns:1fr 1fr;gap:12px}
        .capture section{border:1px solid #e2e5ea;padding:6px 10px;min-width:0}
        .capture h4{margin:2px 0 6px;font-size:14px}
        .capture pre,.output,.logs{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
        .capture pre{white-space:pre-wrap;word-break:break-all;max-height:260px;overflow:auto;margin:4px 0;
          background:var(--panel);padding:6px}
        .capture table{font-size:12px;border-collapse:collapse;width:100%}
        .capture td{border-bottom:1px solid #eee;padding:1px 6px;vertical-align:top;word-break:break-all}
        .capture td.t{white-space:nowrap;color:var(--muted);text-align:right;width:80px}
        .capture tr.hb td{background:#fdf0d2}.capture td pre{margin:0;padding:0;background:none;max-height:none}
        .chunks{max-height:260px;overflow:auto}
        .logs{height:calc(100vh - 150px);overflow:auto;background:#10141b;color:#d8dee9;padding:8px;
          white-space:pre-wrap;word-break:break-all;border-radius:4px}
        .logs .proxy{color:#9fc3ff}.logs .upstream{color:#d8dee9}.logs .gap{color:#f0a020}
        .play{display:grid;grid-template-columns:380px 1fr 300px;gap:14px}
        .play-form{display:flex;flex-direction:column;gap:6px}
        .play-form textarea{width:100%;resize:vertical}
        .play-form .row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
        .play-form input[type=number]{width:70px}
        .output{min-height:90px;max-height:200px;overflow:auto;border:1px solid #e2e5ea;padding:6px;
          white-space:pre-wrap;background:var(--panel)}
        .output .reasoning{color:var(--muted);font-style:italic}.output .error{color:var(--bad);font-weight:600}
        .events{list-style:none;margin:0;padding:0;max-height:220px;overflow:auto;font-size:12px;
          border:1px solid #e2e5ea}
        .events li{padding:1px 6px;border-bottom:1px solid #f0f0f0;font-family:ui-monospace,monospace}
        .events li.hb{background:#fdf0d2}.events li.hb::before{content:"\25C6  ";color:#b36b00}
        .events li.err{color:var(--bad);font-weight:600}
        .hb-count{font-weight:normal;font-size:13px;color:var(--warn)}
        @media (max-width:1100px){.play{grid-template-columns:1fr}.capture{grid-template-columns:1fr}}

        """#
}
