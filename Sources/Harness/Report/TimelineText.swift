import Foundation
import Timeline

/// The timeline as text lines, merged in time order, for terminals and failure reports.
public enum TimelineText {
    /// At most `limit` lines; runs of similar events in between are summarised.
    public static func lines(_ timeline: ReplayTimeline, limit: Int = 60) -> [String] {
        lines(timeline.model(profile: ""), limit: limit)
    }

    /// The lines of the one timeline model.
    public static func lines(_ timeline: RequestTimeline, limit: Int = 60) -> [String] {
        var events: [(Duration, Int, String)] = []
        var requests = 0
        for event in timeline.events {
            switch (event.lane, event.mark) {
            case (.request, .span):
                requests += 1
                events.append((event.t, 0, "client  sends request #\(requests)"))
                events.append((event.end ?? event.t, 4, "client  request #\(requests) ends: \(event.label)"))
            case (.request, .giveUp): break  // the fired deadline says it
            case (.upstream, .close): events.append((event.t, 5, event.label))
            case (.upstream, _): events.append((event.t, 1, event.label))
            default: events.append((event.t, 2, event.label))
            }
        }
        for deadline in timeline.deadlines {
            let what = deadline.fired ? "gives up" : "deadline (not reached)"
            events.append((deadline.t, 3, "client  \(what): \(deadline.rule.rawValue) timer"))
        }
        events.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var out = events.map { String(format: "%9.3f  ", seconds($0.0)) + $0.2 }
        if out.count > limit {
            let head = out.prefix(limit / 2), tail = out.suffix(limit / 2)
            out = Array(head) + ["      …  \(out.count - limit) more events"] + Array(tail)
        }
        return out
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The first bytes as one printable line (`\n` shown as `⏎`), at most `length` characters.
    public static func preview(_ bytes: [UInt8], length: Int = 48) -> String {
        var text = ""
        for scalar in String(decoding: bytes.prefix(length * 2), as: UTF8.self).unicodeScalars {
            if text.unicodeScalars.count >= length { text += "…"; break }
            switch scalar {
            case "\n": text += "⏎"
            case "\r": text += "␍"
            case let s where s.value < 0x20 || s == "\u{FFFD}": text += "·"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text
    }
}
