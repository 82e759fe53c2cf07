import Foundation
import Timeline

/// The timeline picture: one self-contained HTML page (inline SVG and CSS, no scripts, no fonts, no network) with
/// one section per run: time axis, upstream writes, client reads, heartbeats, the client's requests and deadlines,
/// and the verdict. People read this instead of logs, so every mark has a distinct shape as well as a colour
/// (it reads in grey too), and a legend names them.
///
/// The markup is XHTML-compatible (every element closed, attributes quoted, text escaped), so it parses as XML.
public enum TimelineReport {
    /// The page for `results`.
    public static func html(_ results: [ReplayResult], title: String = "harness replay") -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(escape(title))</title>
            <style>\(css)</style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p class="summary">\(summary(results))</p>
            \(legend)

            """
        for (index, result) in results.enumerated() {
            page += section(result, index: index)
        }
        page += "</body>\n</html>\n"
        return page
    }

    static func summary(_ results: [ReplayResult]) -> String {
        let failed = results.filter { $0.verdict == .fail }.count
        let passed = results.filter { $0.verdict == .pass }.count
        let unchecked = results.filter(\.isUnchecked).count
        return "\(results.count) runs: \(passed) pass, \(failed) fail, \(unchecked) unchecked (a run that checks "
            + "nothing fails). Times are real seconds since the client's first request."
    }

    // MARK: One run

    static let width = 1000.0
    static let left = 150.0
    static let right = 30.0
    static let lanes: [(name: String, y: Double)] = [
        ("upstream writes", 40), ("client reads", 90), ("heartbeats", 140), ("client requests", 190),
    ]
    static let axisY = 225.0
    static let height = 260.0

    static func section(_ result: ReplayResult, index: Int) -> String {
        let verdict = result.verdict.rawValue
        var out = "<section class=\"run \(verdict)\" id=\"run-\(index)\">\n"
        out += "<h2><span class=\"badge \(verdict)\">\(verdict.uppercased())</span> \(escape(result.scenario))</h2>\n"
        out += "<p class=\"description\">\(escape(result.description))</p>\n"
        for problem in result.problems { out += "<p class=\"problem\">\(escape(problem))</p>\n" }
        out += "<p class=\"facts\">client <b>\(escape(result.outcome.description))</b>"
        if result.attempts > 1 { out += " after \(result.attempts) attempts" }
        out += " · profile <b>\(escape(result.profile.name))</b> (\(escape(result.profile.summary)))"
        out += " · \(escape(result.topology)) · time scale \(result.timeScale)"
        out += " · max gap \(escape(TimeText.seconds(result.maxGap))) · \(result.heartbeats) heartbeats"
        out += " · \(result.bytesReceived) bytes</p>\n"
        out += svg(result.timeline.model(profile: result.profile.name))
        if !result.expectations.isEmpty {
            out += "<table class=\"expectations\">\n<tr><th>expectation</th><th>expected</th><th>actual</th>"
            out += "<th>result</th></tr>\n"
            for expectation in result.expectations {
                let (label, style) = switch expectation.status {
                    case .passed: ("pass", "pass")
                    case .failed: ("FAIL", "fail")
                    case .skipped(let why): ("skipped: " + why, "skip")
                }
                out += "<tr class=\"\(style)\"><td>\(escape(expectation.key))</td><td>\(escape(expectation.expected))"
                out += "</td><td>\(escape(expectation.actual))</td><td>\(escape(label))</td></tr>\n"
            }
            out += "</table>\n"
        }
        out += "</section>\n"
        return out
    }

    /// The picture of one request: drawn from the one timeline model, mark by mark.
    public static func svg(_ timeline: RequestTimeline) -> String {
        // Deadlines that fired widen the axis; a deadline never reached is drawn only if it falls inside it.
        let end = max(timeline.end, .milliseconds(1))
        let span = seconds(end) * 1.04
        func x(_ time: Duration) -> Double { left + seconds(time) / span * (width - left - right) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        func at(_ time: Duration) -> String { escape(TimeText.seconds(time)) }

        var out = "<svg class=\"timeline\" viewBox=\"0 0 \(Int(width)) \(Int(height))\""
        out += " width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">\n"
        for lane in lanes {
            out += "<text class=\"lane\" x=\"\(f(left - 10))\" y=\"\(f(lane.y + 4))\">\(lane.name)</text>\n"
            out += "<line class=\"lane\" x1=\"\(f(left))\" y1=\"\(f(lane.y))\" x2=\"\(f(width - right))\" y2=\"\(f(lane.y))\"/>\n"
        }
        // Time axis with about eight ticks at round values.
        out += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(axisY))\" x2=\"\(f(width - right))\" y2=\"\(f(axisY))\"/>\n"
        let step = niceStep(span / 8)
        var tick = 0.0
        while tick <= span {
            let tx = left + tick / span * (width - left - right)
            out += "<line class=\"tick\" x1=\"\(f(tx))\" y1=\"\(f(axisY))\" x2=\"\(f(tx))\" y2=\"\(f(axisY + 5))\"/>"
            out += "<text class=\"tick\" x=\"\(f(tx))\" y=\"\(f(axisY + 18))\">\(tickLabel(tick, step: step))</text>\n"
            tick += step
        }
        out += "<text class=\"unit\" x=\"\(f(width - right))\" y=\"\(f(axisY + 32))\">seconds</text>\n"

        // The deadline that fired, or (lighter) the one that was pending when the response ended.
        for deadline in timeline.deadlines where deadline.fired || deadline.t <= end {
            let dx = x(deadline.t)
            let style = deadline.fired ? "deadline" : "deadline pending"
            let rule = deadline.rule.rawValue
            let label = deadline.fired ? "\(rule) deadline" : "next \(rule) deadline (not reached)"
            let nearRight = dx > width - right - 200
            out += "<line class=\"\(style)\" x1=\"\(f(dx))\" y1=\"20\" x2=\"\(f(dx))\" y2=\"\(f(axisY))\">"
            out += "<title>\(escape(deadline.profile)): \(label) at \(at(deadline.t))</title></line>\n"
            out += "<text class=\"\(style)\(nearRight ? " end" : "")\" x=\"\(f(nearRight ? dx - 4 : dx + 4))\" y=\"16\">"
            out += "\(label) \(at(deadline.t))</text>\n"
        }
        let requestY = lanes[3].y
        var requests = 0
        for event in timeline.events {
            let ex = x(event.t)
            let title = "<title>\(at(event.t)): \(escape(event.label))</title>"
            switch (event.lane, event.mark) {
            case (.request, .span):
                requests += 1
                let title = "<title>request #\(requests): \(escape(event.label))</title>"
                let width = max(1, x(event.end ?? event.t) - ex)
                out += "<rect class=\"attempt\" x=\"\(f(ex))\" y=\"\(f(requestY - 7))\" "
                out += "width=\"\(f(width))\" height=\"14\">\(title)</rect>\n"
            case (.request, .giveUp):
                out += "<path class=\"giveup\" d=\"M\(f(ex - 6)) \(f(requestY - 6))l12 12m0 -12l-12 12\">\(title)</path>\n"
            case (.upstream, .close):
                out += "<path class=\"upclose\" d=\"M\(f(ex)) \(f(lanes[0].y - 12))v24\">\(title)</path>\n"
            case (.upstream, _):
                let h = min(26, 6 + log2(Double(max(1, event.bytes ?? 1))) * 1.5)
                out += "<rect class=\"write\" x=\"\(f(ex - 1.5))\" y=\"\(f(lanes[0].y - h / 2))\" width=\"3\" "
                out += "height=\"\(f(h))\">\(title)</rect>\n"
            case (.heartbeat, _):
                let y = lanes[2].y
                out += "<path class=\"heartbeat\" d=\"M\(f(ex)) \(f(y - 7))l7 7l-7 7l-7 -7z\">\(title)</path>\n"
            case (.withheld, _):
                let y = lanes[2].y
                out += "<path class=\"withheld\" d=\"M\(f(ex)) \(f(y - 7))l7 7l-7 7l-7 -7z\">\(title)</path>\n"
            case (.client, _):
                out += "<circle class=\"read\" cx=\"\(f(ex))\" cy=\"\(f(lanes[1].y))\" r=\"4\">\(title)</circle>\n"
            case (.error, _):
                let y = lanes[1].y
                out += "<path class=\"inband-error\" d=\"M\(f(ex - 5)) \(f(y - 5))l10 10m0 -10l-10 10\">\(title)</path>\n"
            case (.request, _):
                out += "<path class=\"note\" d=\"M\(f(ex)) \(f(requestY - 9))v18\">\(title)</path>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    static var legend: String {
        """
        <svg class="legend" viewBox="0 0 1000 34" width="1000" height="34" role="img">
        <rect class="write" x="10" y="8" width="3" height="18"/><text x="20" y="22">upstream write (height: size)</text>
        <circle class="read" cx="230" cy="17" r="4"/><text x="240" y="22">client read</text>
        <path class="heartbeat" d="M340 10l7 7l-7 7l-7 -7z"/><text x="352" y="22">heartbeat</text>
        <rect class="attempt" x="440" y="10" width="30" height="14"/><text x="476" y="22">client request</text>
        <line class="deadline" x1="600" y1="4" x2="600" y2="30"/><text x="606" y="22">client deadline</text>
        <path class="giveup" d="M720 11l12 12m0 -12l-12 12"/><text x="740" y="22">client gives up</text>
        <path class="upclose" d="M860 5v24"/><text x="866" y="22">upstream sees close</text>
        </svg>
        """
    }

    static let css = """
        body{font-family:sans-serif;margin:24px;color:#111;background:#fff}
        h1{font-size:22px}h2{font-size:18px;margin:18px 0 4px}
        section.run{border-top:1px solid #bbb;padding-top:6px}
        .badge{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:bold;border:2px solid}
        .badge.pass{background:#d9f2df;color:#145a24;border-color:#145a24}
        .badge.fail{background:#fbdcd8;color:#8a1b0e;border-color:#8a1b0e;border-style:dashed}
        .problem{color:#a00;font-weight:bold}
        .description,.facts,.summary{margin:2px 0;font-size:14px}
        svg text{font-size:12px;font-family:sans-serif;fill:#222}
        svg text.lane{text-anchor:end}svg text.tick{text-anchor:middle}svg text.unit{text-anchor:end;fill:#555}
        line.lane{stroke:#ddd;stroke-width:1}line.axis,line.tick{stroke:#333;stroke-width:1}
        rect.write{fill:#1f4e9c}circle.read{fill:#fff;stroke:#2a7d3f;stroke-width:2}
        path.heartbeat{fill:#f0a020;stroke:#7a4a00;stroke-width:1}
        rect.attempt{fill:#d4d4d4;stroke:#555;stroke-width:1}
        line.deadline{stroke:#c0392b;stroke-width:2;stroke-dasharray:6 4}text.deadline{fill:#c0392b}text.end{text-anchor:end}
        line.pending{stroke:#999;stroke-width:1.5}text.pending{fill:#777}
        path.giveup{stroke:#c0392b;stroke-width:3;fill:none}path.withheld{fill:#fff;stroke:#7a4a00;stroke-width:1.5}
        path.inband-error{stroke:#8a1b0e;stroke-width:3;fill:none}path.note{stroke:#555;stroke-width:1.5}path.upclose{stroke:#6a1b9a;stroke-width:2;stroke-dasharray:2 2}
        table.expectations{border-collapse:collapse;font-size:13px;margin-top:6px}
        table.expectations td,table.expectations th{border:1px solid #bbb;padding:2px 8px;text-align:left}
        tr.fail td{background:#fbdcd8;font-weight:bold}tr.skip td{color:#666;font-style:italic}
        """

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        for factor in [1.0, 2, 5, 10] where factor * power >= raw { return factor * power }
        return 10 * power
    }

    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : Int(ceil(-log10(step)))
        return String(format: "%.\(decimals)f", value)
    }

    /// Text safe in XML content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case let s where s.value < 0x20 && s != "\n" && s != "\t": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
