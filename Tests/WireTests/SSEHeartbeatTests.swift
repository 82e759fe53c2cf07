import Testing
import Wire

@Suite struct SSEHeartbeatTests {
    @Test(arguments: [("keepalive", ": keepalive"), ("", ":"), ("proxy é", ": proxy é")])
    func rendersCommentLine(comment: String, line: String) throws {
        let heartbeat = try SSEHeartbeat(comment: comment)
        #expect(heartbeat.lineFeedBytes == Array((line + "\n\n").utf8))
        #expect(heartbeat.carriageReturnBytes == Array((line + "\r\r").utf8))
    }

    @Test func defaultCommentIsKeepalive() throws {
        #expect(try SSEHeartbeat().lineFeedBytes == Array(": keepalive\n\n".utf8))
        #expect(try SSEHeartbeat() == SSEHeartbeat.keepalive)
    }

    @Test(arguments: ["a\nb", "a\rb", "\n", "keep\r\nalive"])
    func refusesLineBreaks(comment: String) {
        #expect(throws: SSEHeartbeat.InvalidComment.self) { try SSEHeartbeat(comment: comment) }
    }

    @Test(arguments: [
        ("", ": keepalive\n\n"), ("data: a\n\n", ": keepalive\n\n"), ("data: a\r\n\r\n", ": keepalive\n\n"),
        ("data: a\r\r", ": keepalive\r\r"), ("data: a\r\n\r", ": keepalive\r\r"),
    ])
    func bytesFollowTheBoundaryKind(prefix: String, expected: String) throws {
        var tracker = SSEBoundaryTracker()
        tracker.consume(prefix.utf8)
        #expect(try SSEHeartbeat().bytes(after: tracker) == Array(expected.utf8))
    }

    @Test(arguments: ["data: a", "data: a\n", "data: a\r", ": upstream\n"])
    func noBytesInsideAnEvent(prefix: String) throws {
        var tracker = SSEBoundaryTracker()
        tracker.consume(prefix.utf8)
        #expect(try SSEHeartbeat().bytes(after: tracker) == nil)
    }

    /// A heartbeat inserted at any boundary of any valid stream changes nothing a client's parser dispatches, and
    /// adds exactly one blank line (its own): never an extra empty event, even where an LF follows an upstream CR.
    @Test(arguments: UInt64(1)...80)
    func insertingAtEveryBoundaryKeepsEvents(seed: UInt64) throws {
        var random = SeededRandom(scrambledSeed: seed)
        let stream = random.validStream()
        let original = ReferenceSSE(stream)
        let heartbeat = try SSEHeartbeat()
        var tracker = SSEBoundaryTracker()
        var checked = 0
        for offset in 0...stream.count {
            if offset > 0 { tracker.consume(stream[offset - 1]) }
            guard let bytes = heartbeat.bytes(after: tracker) else { continue }
            let withHeartbeat = ReferenceSSE(Array(stream[..<offset]) + bytes + Array(stream[offset...]))
            #expect(withHeartbeat.dataEvents == original.dataEvents, "seed \(seed), offset \(offset)")
            #expect(withHeartbeat.blankLines == original.blankLines + 1, "seed \(seed), offset \(offset)")
            checked += 1
        }
        #expect(checked >= 1)  // offset 0 is always a boundary
    }

    /// The rule behind `\r\r`: a heartbeat ending in LF, put between an upstream CR and its LF, would add a blank
    /// line. This test shows the hazard the tracker's `betweenEventsAfterCarriageReturn` exists for.
    @Test func lineFeedHeartbeatAfterCarriageReturnWouldAddBlankLine() throws {
        let heartbeat = try SSEHeartbeat()
        let before = Array("data: a\r\n\r".utf8)
        let after = Array("\ndata: b\r\n\r\n".utf8)
        let naive = ReferenceSSE(before + heartbeat.lineFeedBytes + after)
        let safe = ReferenceSSE(before + heartbeat.carriageReturnBytes + after)
        let original = ReferenceSSE(before + after)
        #expect(naive.blankLines == original.blankLines + 2)
        #expect(safe.blankLines == original.blankLines + 1)
        #expect(safe.dataEvents == original.dataEvents)
    }
}
