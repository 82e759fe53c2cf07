import SeededRandom
import Testing
import Wire

@Suite struct SSEBoundaryTrackerTests {
    // MARK: Examples

    @Test(arguments: [
        ("", SSEBoundaryTracker.Position.betweenEvents, 0),
        ("data: x\n\n", .betweenEvents, 1),
        ("data: x\r\n\r\n", .betweenEvents, 1),
        ("data: x\r\r", .betweenEventsAfterCarriageReturn, 1),
        ("data: x\r\n\r", .betweenEventsAfterCarriageReturn, 1),
        ("data: x\r\n\n", .betweenEvents, 1),
        ("data: x\n\r\n", .betweenEvents, 1),
        ("data: x\r\r\n", .betweenEvents, 1),
        (": keepalive\n\n", .betweenEvents, 1),
        (":\n\n", .betweenEvents, 1),
        ("data: a\ndata: b\n\n", .betweenEvents, 1),
        ("data: a\n\ndata: b\n\n", .betweenEvents, 2),
        ("data: a\n\n\n\n", .betweenEvents, 1),
        ("\n", .betweenEvents, 0),
        ("\r\n", .betweenEvents, 0),
        ("\r", .betweenEventsAfterCarriageReturn, 0),
        ("data: x", .insideEvent, 0),
        ("data: x\n", .insideEvent, 0),
        ("data: x\r", .insideEvent, 0),
        ("data: x\r\n", .insideEvent, 0),
        (": keepalive\n", .insideEvent, 0),
        ("data: a\n\ndata: b", .insideEvent, 1),
        ("data: a\n\ndata: b\n", .insideEvent, 1),
        ("data: {\"content\":\"é漢🙂\"}\n\n", .betweenEvents, 1),
        ("event: x\nid: 7\nretry: 10\ndata\n\n", .betweenEvents, 1),
    ])
    func positionAfterExample(text: String, position: SSEBoundaryTracker.Position, events: Int) {
        var tracker = SSEBoundaryTracker()
        tracker.consume(text.utf8)
        #expect(tracker.position == position)
        #expect(tracker.isAtEventBoundary == (position != .insideEvent))
        #expect(tracker.eventsCompleted == events)
        #expect(tracker.bytesConsumed == text.utf8.count)
    }

    /// Content bytes are the bytes of lines that are not comments (line ends excluded), whatever the split: what
    /// `streamIdleTimeout` counts, so `:` pings from a wedged upstream never look like progress.
    @Test(arguments: [
        (":\n\n", 0),
        (": keepalive\r\n\r\n", 0),
        ("data: x\n\n", 7),
        (":\n\ndata: x\n\n:\n\n", 7),
        ("data: a\n: inside\ndata: b\n\n", 14),
        ("x:y\r\r", 3),
        ("\n\n\n", 0),
    ])
    func contentBytesExcludeComments(input: String, expected: Int) {
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            var tracker = SSEBoundaryTracker()
            tracker.consume(bytes[..<split])
            tracker.consume(bytes[split...])
            #expect(tracker.contentBytesConsumed == expected, "split at \(split)")
        }
    }

    @Test func lineFeedAfterTrailingCarriageReturnOnlyCompletesItsCRLF() {
        var tracker = SSEBoundaryTracker()
        tracker.consume("data: x\r\n\r".utf8)
        #expect(tracker.position == .betweenEventsAfterCarriageReturn)
        tracker.consume(UInt8(ascii: "\n"))
        #expect(tracker.position == .betweenEvents)
        #expect(tracker.eventsCompleted == 1)
        tracker.consume("\n".utf8)  // a real extra blank line: still between events, no new event
        #expect(tracker.position == .betweenEvents)
        #expect(tracker.eventsCompleted == 1)
    }

    @Test(arguments: [
        ("", ""), ("data: x", "\n\n"), ("data: x\n", "\n"), ("data: x\r", "\n\n"), ("data: x\r\n", "\n"),
        ("data: a\n\n", ""), ("data: a\r\r", ""), ("data: a\n\n: part", "\n\n"),
    ])
    func closingBytesEndTheEvent(prefix: String, closing: String) {
        var tracker = SSEBoundaryTracker()
        tracker.consume(prefix.utf8)
        #expect(tracker.bytesClosingCurrentEvent == Array(closing.utf8))
        let eventsBefore = tracker.eventsCompleted
        tracker.consume(tracker.bytesClosingCurrentEvent)
        #expect(tracker.isAtEventBoundary)
        #expect(tracker.eventsCompleted == eventsBefore + (closing.isEmpty ? 0 : 1))
    }

    @Test func everyOverloadAgrees() {
        let bytes = Array("data: a\r\n\r\ndata: b\r".utf8)
        var viaArray = SSEBoundaryTracker()
        viaArray.consume(bytes)
        var viaPointer = SSEBoundaryTracker()
        bytes.withUnsafeBytes { viaPointer.consume($0) }
        var viaSequence = SSEBoundaryTracker()
        viaSequence.consume(bytes.lazy.map { $0 })  // no contiguous storage: the byte-by-byte path
        var viaBytes = SSEBoundaryTracker()
        for byte in bytes { viaBytes.consume(byte) }
        #expect(viaArray == viaPointer)
        #expect(viaArray == viaSequence)
        #expect(viaArray == viaBytes)
        #expect(viaArray.bytesConsumed == bytes.count)
        #expect(viaArray.eventsCompleted == 1)
    }

    // MARK: Properties over random streams

    /// Any split of a stream gives the same answers at the slice ends as feeding it byte by byte, and both agree
    /// with the reference parser at every offset.
    @Test(arguments: UInt64(1)...150)
    func splitsDoNotChangeAnswers(seed: UInt64) throws {
        var random = SeededRandom(scrambledSeed: seed)
        let stream = seed % 5 == 0 ? random.noisyBytes() : random.validStream()
        let reference = ReferenceSSE(stream)

        var byteByByte = SSEBoundaryTracker()
        var answers = [byteByByte]
        for byte in stream {
            byteByByte.consume(byte)
            answers.append(byteByByte)
        }
        for offset in 0...stream.count {
            let tracker = answers[offset]
            #expect(tracker.position == reference.position(at: offset), "seed \(seed), offset \(offset)")
            #expect(tracker.eventsCompleted == reference.eventsCompleted(at: offset), "seed \(seed), offset \(offset)")
            #expect(tracker.bytesConsumed == offset)
        }

        // The whole stream at once: the pointer overload skips long runs of line bytes.
        var whole = SSEBoundaryTracker()
        stream.withUnsafeBytes { whole.consume($0) }
        #expect(whole == answers[stream.count], "seed \(seed), the whole stream at once")

        for _ in 0..<4 {
            var split = SSEBoundaryTracker()
            var offset = 0
            var overload = 0
            while offset < stream.count {
                let end = min(stream.count, offset + random.int(in: 1...12))
                let slice = stream[offset..<end]
                switch overload % 3 {
                case 0: split.consume(slice)
                case 1: slice.withUnsafeBytes { split.consume($0) }
                default: split.consume(slice.lazy.map { $0 })
                }
                overload += 1
                offset = end
                #expect(split == answers[offset], "seed \(seed), slice ending at \(offset)")
            }
        }
    }

    /// Wherever the stream is cut, writing the closing bytes and then an event leaves every earlier line as it was
    /// and ends exactly one event.
    @Test(arguments: UInt64(1)...60)
    func closingBytesNeverMergeWithEarlierLines(seed: UInt64) {
        var random = SeededRandom(scrambledSeed: seed)
        let stream = random.validStream()
        var tracker = SSEBoundaryTracker()
        for offset in 0...stream.count {
            if offset > 0 { tracker.consume(stream[offset - 1]) }
            let prefix = Array(stream[..<offset])
            let closed = prefix + tracker.bytesClosingCurrentEvent
            let reference = ReferenceSSE(closed)
            let before = ReferenceSSE(prefix)
            #expect(reference.position(at: closed.count) != .insideEvent, "seed \(seed), offset \(offset)")
            let added = tracker.isAtEventBoundary ? 0 : 1
            #expect(
                reference.eventsCompleted(at: closed.count) == before.eventsCompleted(at: offset) + added,
                "seed \(seed), offset \(offset)"
            )
            #expect(Array(reference.dataEvents.prefix(before.dataEvents.count)) == before.dataEvents)
        }
    }
}

// MARK: - Test support

/// A deliberately simple SSE reader over a whole byte array, written from the WHATWG rules independently of the
/// tracker: split into lines first, then derive boundaries.
struct ReferenceSSE {
    struct Line {
        var start: Int
        var contentEnd: Int
        var end: Int
        var isEmpty: Bool { start == contentEnd }
    }

    let bytes: [UInt8]
    let lines: [Line]
    /// Offsets just after the first byte of each blank line's ending (where a WHATWG parser dispatches).
    let eventEnds: [Int]
    /// Offsets where nothing of an unfinished event is pending.
    let boundaries: Set<Int>
    /// The dispatched events' non-comment lines, one array per event that had any.
    let dataEvents: [[String]]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var lines: [Line] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 0x0A:
                lines.append(Line(start: start, contentEnd: index, end: index + 1))
                index += 1
                start = index
            case 0x0D:
                let end = index + 1 < bytes.count && bytes[index + 1] == 0x0A ? index + 2 : index + 1
                lines.append(Line(start: start, contentEnd: index, end: end))
                index = end
                start = index
            default:
                index += 1
            }
        }
        self.lines = lines

        var eventEnds: [Int] = []
        var boundaries: Set<Int> = [0]
        var dataEvents: [[String]] = []
        var hasLines = false
        var fields: [String] = []
        for line in lines {
            if line.isEmpty {
                boundaries.insert(line.contentEnd + 1)
                boundaries.insert(line.end)
                if hasLines { eventEnds.append(line.contentEnd + 1) }
                if !fields.isEmpty { dataEvents.append(fields) }
                hasLines = false
                fields = []
            } else {
                hasLines = true
                let text = String(decoding: bytes[line.start..<line.contentEnd], as: UTF8.self)
                if !text.hasPrefix(":") { fields.append(text) }
            }
        }
        self.eventEnds = eventEnds
        self.boundaries = boundaries
        self.dataEvents = dataEvents
    }

    func position(at offset: Int) -> SSEBoundaryTracker.Position {
        guard boundaries.contains(offset) else { return .insideEvent }
        return offset > 0 && bytes[offset - 1] == 0x0D ? .betweenEventsAfterCarriageReturn : .betweenEvents
    }

    func eventsCompleted(at offset: Int) -> Int {
        eventEnds.count(where: { $0 <= offset })
    }

    /// Number of blank lines: each ends an event or separates nothing.
    var blankLines: Int { lines.count(where: { $0.isEmpty }) }
}

/// The tests' generator: Wire's SplitMix64, seeded as these tests always were (seed × the golden ratio), so a
/// failing seed replays exactly.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    init(scrambledSeed seed: UInt64) { self.init(seed: seed &* 0x9E37_79B9_7F4A_7C15) }

    mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    mutating func pick<T>(_ choices: [T]) -> T { choices[int(in: 0...(choices.count - 1))] }

    mutating func lineEnding() -> String { pick(["\n", "\r\n", "\r"]) }

    /// A stream of whole events as servers write them: fields, comments, multi-line and empty data, UTF-8, every
    /// line ending and mixes of them, extra blank lines, and sometimes an unfinished last event.
    mutating func validStream() -> [UInt8] {
        let texts = ["{\"content\":\"hi\"}", "", "a: b", "é漢🙂", "[DONE]", " spaced ", "x:y:z"]
        var out = ""
        if int(in: 0...5) == 0 { out += lineEnding() }
        for _ in 0..<int(in: 0...6) {
            for _ in 0..<int(in: 1...4) {
                let line: String = switch int(in: 0...7) {
                case 0: ": keepalive"
                case 1: ":"
                case 2: "event: \(pick(["message", "x"]))"
                case 3: "id: \(int(in: 0...99))"
                case 4: "data"
                case 5: "retry: 1000"
                default: "data: \(pick(texts))"
                }
                out += line + lineEnding()
            }
            out += lineEnding()
            if int(in: 0...6) == 0 { out += lineEnding() }
        }
        if int(in: 0...3) == 0 { out += "data: unfinished" + (int(in: 0...1) == 0 ? lineEnding() : "") }
        return Array(out.utf8)
    }

    /// Arbitrary bytes, heavy in CR, LF and field characters: the tracker's answers must not depend on splits even
    /// for streams no server would send.
    mutating func noisyBytes() -> [UInt8] {
        let alphabet: [UInt8] = [0x0A, 0x0D, 0x0A, 0x0D, UInt8(ascii: "d"), UInt8(ascii: ":"), 0x20, 0xE2, 0x82, 0xAC]
        return (0..<int(in: 0...200)).map { _ in pick(alphabet) }
    }
}
