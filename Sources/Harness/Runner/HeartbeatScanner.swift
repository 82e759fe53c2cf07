import Wire

/// Finds the proxy's heartbeats in a client's SSE body as it arrives: counts them, and keeps the body without
/// them, so a run can compare what the client got with what the upstream wrote.
///
/// A heartbeat is the comment line `: <comment>` with its blank line (`\n\n`, or `\r\r` after a CR), and it only
/// counts where the proxy may put one: between two events. The same bytes inside an event are data.
public struct HeartbeatScanner: Sendable, Hashable {
    /// The heartbeat being looked for.
    public let heartbeat: SSEHeartbeat
    /// Heartbeats found so far.
    public private(set) var count = 0
    /// The body so far with every heartbeat removed (bytes that may still start one are held back until
    /// `finish`).
    public private(set) var withoutHeartbeats: [UInt8] = []

    private var tracker = SSEBoundaryTracker()
    private var held: [UInt8] = []

    /// A scanner for heartbeats with `comment`'s text.
    public init(heartbeat: SSEHeartbeat) {
        self.heartbeat = heartbeat
    }

    /// Feeds body bytes; returns how many heartbeats they completed.
    @discardableResult
    public mutating func consume(_ bytes: some Sequence<UInt8>) -> Int {
        let before = count
        for byte in bytes { push(byte) }
        return count - before
    }

    /// The body ended: bytes held back as a possible heartbeat start are body after all.
    public mutating func finish() {
        let rest = held
        held = []
        for byte in rest { emit(byte) }
    }

    private mutating func push(_ byte: UInt8) {
        guard held.isEmpty ? tracker.position != .insideEvent : true else {
            emit(byte)
            return
        }
        held.append(byte)
        if held == heartbeat.lineFeedBytes || held == heartbeat.carriageReturnBytes {
            count += 1
            held = []
            return
        }
        if isPrefix(held, of: heartbeat.lineFeedBytes) || isPrefix(held, of: heartbeat.carriageReturnBytes) { return }
        // Not a heartbeat: the first held byte is body; the rest may still start one at a new boundary.
        let rest = held.dropFirst()
        emit(held[0])
        held = []
        for next in rest { push(next) }
    }

    private mutating func emit(_ byte: UInt8) {
        tracker.consume(byte)
        withoutHeartbeats.append(byte)
    }

    private func isPrefix(_ prefix: [UInt8], of whole: [UInt8]) -> Bool {
        prefix.count <= whole.count && whole.starts(with: prefix)
    }
}
