/// Follows an SSE body byte by byte and tells whether everything seen so far ends exactly between two events: the
/// only places where the proxy may insert bytes of its own (a heartbeat, an in-band error) without changing what a
/// client's SSE parser sees.
///
/// Lines end as the WHATWG event-stream rules say: CRLF, LF or CR, each alone. A blank line ends an event, so
/// `\n\n`, `\r\n\r\n`, `\r\r` and mixes such as `\r\n\n` all end one; a comment-only event (`: keepalive\n\n`) is an
/// event like any other. Blank lines that follow a boundary (extra separators) keep the stream at a boundary.
///
/// **A trailing CR.** When the last byte seen is a CR that ended a blank line, the event is complete (a WHATWG
/// parser dispatches it at the CR), but the next byte may be an LF that belongs to the same line ending. Bytes
/// inserted between that CR and LF would turn the LF into an extra blank line. A spec parser dispatches nothing
/// on it, but parsers that dispatch on every blank line would see an empty event. So this position counts as a
/// boundary, but a distinct one: ``position`` is ``Position/betweenEventsAfterCarriageReturn``, and inserted bytes
/// must end in a lone CR, not an LF (`: keepalive\r\r`). A following upstream LF then completes *our* CRLF, and any
/// other byte follows a CR-ended line: the client's lines are exactly the upstream's plus our two.
/// (openai-python's chunker, which cuts at `\r\r`, reads that LF as a blank line whatever we send; that only
/// matters to it once an `id:` was seen, which llama-server never sends.) Treating the position as "not yet a boundary" would be safe
/// too, but an upstream that ends lines with CR alone would then never let a heartbeat through while it stalls
/// between events.
///
/// The tracker only reads; it never buffers bytes, so feeding it costs a few comparisons per byte.
public struct SSEBoundaryTracker: Sendable, Hashable {
    /// Where the bytes consumed so far end, relative to SSE events.
    public enum Position: Sendable, Hashable {
        /// At the start of the stream, or just after a blank line ended by LF or CRLF.
        case betweenEvents
        /// Just after a blank line ended by a CR that may still be the first half of a CRLF (see the type's doc).
        case betweenEventsAfterCarriageReturn
        /// Inside a line, or after a complete line of an event that has not ended yet.
        case insideEvent
    }

    /// How many bytes have been consumed, for logs.
    public private(set) var bytesConsumed: Int = 0
    /// How many events have ended (blank lines after at least one line of their own), for logs.
    public private(set) var eventsCompleted: Int = 0
    /// How many bytes belong to lines that are not comments (line ends excluded): what the upstream says, as opposed
    /// to `:` keep-alive pings. A wedged llama-server (b9478 and later) keeps pinging from its HTTP thread while its
    /// slot produces nothing, so a bound on upstream silence must count only these.
    public private(set) var contentBytesConsumed: Int = 0

    /// The current line has at least one byte.
    private var lineHasBytes = false
    /// The current line starts with `:` (an SSE comment).
    private var lineIsComment = false
    /// A complete line has been seen since the last blank line.
    private var eventHasLines = false
    /// The last byte was a CR: an LF now is the second half of its CRLF, not a line ending of its own.
    private var lastWasCarriageReturn = false

    public init() {}

    /// Whether the bytes consumed so far end exactly at the end of an event (or nothing was consumed yet).
    public var isAtEventBoundary: Bool { !lineHasBytes && !eventHasLines }

    /// Where the bytes consumed so far end; see ``Position``.
    public var position: Position {
        guard isAtEventBoundary else { return .insideEvent }
        return lastWasCarriageReturn ? .betweenEventsAfterCarriageReturn : .betweenEvents
    }

    /// The bytes that end the current event (partial line included) if the stream must be cut here, so that an
    /// event written next starts cleanly: empty at a boundary; `\n` after a complete line ended by LF; `\n\n`
    /// inside a line or after a line ended by a lone CR (whose next LF would only complete its CRLF).
    ///
    /// Used when the upstream fails mid-event and the client must still receive a parseable in-band error. The
    /// partial event is dispatched as it is; no client can take bytes back.
    public var bytesClosingCurrentEvent: [UInt8] {
        if isAtEventBoundary { return [] }
        if lineHasBytes || lastWasCarriageReturn { return [.lineFeed, .lineFeed] }
        return [.lineFeed]
    }

    /// Consumes one byte.
    public mutating func consume(_ byte: UInt8) {
        bytesConsumed += 1
        step(byte)
    }

    /// Consumes contiguous bytes: the fast path for NIO buffers (`buffer.withUnsafeReadableBytes { … }`).
    ///
    /// Between two line endings only a line's first byte (a comment or not) and its length matter, so a run of
    /// other bytes is skipped by a search for the next CR or LF instead of being stepped through byte by byte
    /// (a token event is ~250 bytes of one line). The answers are those of consuming the bytes one at a time.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        bytesConsumed += bytes.count
        let count = bytes.count
        var index = 0
        while index < count {
            let byte = bytes[index]
            if byte == .lineFeed || byte == .carriageReturn {
                step(byte)
                index += 1
                continue
            }
            var end = index + 1
            while end < count {
                let next = bytes[end]
                if next == .lineFeed || next == .carriageReturn { break }
                end += 1
            }
            lastWasCarriageReturn = false
            if !lineHasBytes {
                lineIsComment = byte == .colon
                lineHasBytes = true
            }
            if !lineIsComment { contentBytesConsumed += end - index }
            index = end
        }
    }

    /// Consumes any sequence of bytes (`[UInt8]`, `ArraySlice`, `ByteBufferView`, `String.UTF8View`), through
    /// contiguous storage when the sequence has it.
    public mutating func consume<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            consume(UnsafeRawBufferPointer(buffer))
        }
        if handled == nil {
            for byte in bytes { consume(byte) }
        }
    }

    private mutating func step(_ byte: UInt8) {
        switch byte {
        case .lineFeed:
            if lastWasCarriageReturn {
                lastWasCarriageReturn = false  // second half of a CRLF whose CR already ended the line
            } else {
                endLine()
            }
        case .carriageReturn:
            endLine()
            lastWasCarriageReturn = true
        default:
            lastWasCarriageReturn = false
            if !lineHasBytes { lineIsComment = byte == .colon }
            lineHasBytes = true
            if !lineIsComment { contentBytesConsumed += 1 }
        }
    }

    private mutating func endLine() {
        if lineHasBytes {
            lineHasBytes = false
            eventHasLines = true
        } else if eventHasLines {
            eventHasLines = false
            eventsCompleted += 1
        }
    }
}

extension UInt8 {
    fileprivate static let lineFeed: UInt8 = 0x0A
    fileprivate static let carriageReturn: UInt8 = 0x0D
    fileprivate static let colon: UInt8 = 0x3A
}
