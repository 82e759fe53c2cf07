import Wire

/// Finds heartbeat lines that sit inside an SSE event, by following the body's event boundaries (not by
/// deleting bytes, which cannot tell a heartbeat between events from one spliced into a `data:` line).
///
/// A heartbeat line is `: <comment>` followed by a line ending. It is well placed only as a complete block of its
/// own: it starts where an event may start (start of the body, or after a blank line) and a blank line follows at
/// once. Anywhere else, in the middle of a line, as one line of a longer event, or as the first line of an event
/// that goes on, it is inside an event: the client's SSE parser sees it as part of that event, and the bytes around
/// it (a `data:` line cut in two) no longer mean what the upstream sent.
///
/// The upstream's own bytes may contain the same text (`data: keepalive`); `insideEvents(client:upstream:)` counts
/// only the placements the upstream did not write itself.
public enum HeartbeatPlacement {
    /// How many heartbeat lines in `body` are not well placed (see the type's doc).
    public static func misplaced(in body: [UInt8], heartbeat: SSEHeartbeat) -> Int {
        let line = Array(": \(heartbeat.comment)".utf8)
        var tracker = SSEBoundaryTracker()
        var count = 0
        var index = 0
        while index < body.count {
            if body[index] == UInt8(ascii: ":"), matches(line, in: body, at: index),
                let ending = lineEnding(in: body, at: index + line.count)
            {
                let startsBlock = tracker.isAtEventBoundary
                let after = index + line.count + ending
                let blankFollows = lineEnding(in: body, at: after) != nil || after == body.count
                if !(startsBlock && blankFollows) { count += 1 }
            }
            tracker.consume(body[index])
            index += 1
        }
        return count
    }

    /// Misplaced heartbeat lines in the client's body beyond those already in the upstream's body at the same
    /// kind of place: what the proxy put inside events. Never negative.
    public static func insideEvents(client: [UInt8], upstream: [UInt8], heartbeat: SSEHeartbeat) -> Int {
        max(0, misplaced(in: client, heartbeat: heartbeat) - misplaced(in: upstream, heartbeat: heartbeat))
    }

    private static func matches(_ needle: [UInt8], in body: [UInt8], at index: Int) -> Bool {
        index + needle.count <= body.count && body[index..<(index + needle.count)].elementsEqual(needle)
    }

    /// The length of the line ending at `index` (CRLF 2, LF or CR 1), or `nil` if none starts there.
    private static func lineEnding(in body: [UInt8], at index: Int) -> Int? {
        guard index < body.count else { return nil }
        switch body[index] {
        case UInt8(ascii: "\r"): return index + 1 < body.count && body[index + 1] == UInt8(ascii: "\n") ? 2 : 1
        case UInt8(ascii: "\n"): return 1
        default: return nil
        }
    }
}
