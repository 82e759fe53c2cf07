import Foundation

/// The timeline as text lines, merged in time order, for terminals and failure reports.
public enum TimelineText {
    /// At most `limit` lines; runs of similar events in between are summarised.
    public static func lines(_ timeline: ReplayTimeline, limit: Int = 60) -> [String] {
        var events: [(Duration, Int, String)] = []
        for (index, attempt) in timeline.attempts.enumerated() {
            events.append((attempt.start, 0, "client  sends request #\(index + 1)"))
            if let deadline = attempt.deadline, let rule = attempt.deadlineRule {
                let what = attempt.timedOut ? "gives up" : "deadline (not reached)"
                events.append((deadline, 3, "client  \(what): \(rule.rawValue) timer"))
            }
            events.append((attempt.end, 4, "client  request #\(index + 1) ends: \(attempt.ending)"))
        }
        for write in timeline.upstreamWrites {
            events.append((write.at, 1, "upstream writes \(write.byteCount) B  \(write.preview)"))
        }
        for read in timeline.clientReads {
            let kind = read.heartbeats > 0 ? "heartbeat x\(read.heartbeats) " : ""
            events.append((read.at, 2, "client  reads \(read.byteCount) B  \(kind)\(read.preview)"))
        }
        for close in timeline.upstreamCloses {
            events.append((close, 5, "upstream sees the connection close"))
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
