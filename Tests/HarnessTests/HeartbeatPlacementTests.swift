import Testing

@testable import Harness

/// Heartbeats inside events are found by event boundaries, not by deleting bytes.
@Suite struct HeartbeatPlacementTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var body: String
        var misplaced: Int
        var testDescription: String { body.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\r", with: "␍") }
    }

    static let cases: [Case] = [
        Case(body: ": keepalive\n\ndata: a\n\n", misplaced: 0),
        Case(body: "data: a\n\n: keepalive\n\ndata: b\n\n: keepalive\n\n", misplaced: 0),
        Case(body: "data: a\r\n\r\n: keepalive\n\ndata: b\r\n\r\n", misplaced: 0),
        Case(body: "data: a\r\r: keepalive\r\r", misplaced: 0),
        // Spliced into a data: line (the bug seen in other proxies).
        Case(body: "data: {\"del: keepalive\n\nta\":1}\n\n", misplaced: 1),
        // Between the data: line and the blank line that ends the event.
        Case(body: "data: a\n: keepalive\n\n\n", misplaced: 1),
        // At a boundary but not followed by a blank line: it becomes the first line of the next event.
        Case(body: ": keepalive\ndata: a\n\n", misplaced: 1),
        // After a CR that ended a line but not the event.
        Case(body: "data: a\r: keepalive\r\r\r", misplaced: 1),
        // Look-alikes are not heartbeats.
        Case(body: ": keepalive-ish\n\n: keepalives\n\n", misplaced: 0),
        Case(body: "data: keepalive\n\n", misplaced: 1),
    ]

    @Test(arguments: cases)
    func misplacedHeartbeatsAreCounted(_ testCase: Case) {
        #expect(HeartbeatPlacement.misplaced(in: Array(testCase.body.utf8), heartbeat: .keepalive) == testCase.misplaced)
    }

    /// The upstream's own bytes (`data: keepalive`) are not the proxy's doing; a heartbeat spliced in is.
    @Test func onlyWhatTheUpstreamDidNotWriteCounts() {
        let upstream = Array("data: keepalive\n\ndata: {\"delta\":1}\n\n".utf8)
        let clean = Array("data: keepalive\n\n: keepalive\n\ndata: {\"delta\":1}\n\n".utf8)
        let spliced = Array("data: keepalive\n\ndata: {\"del: keepalive\n\nta\":1}\n\n".utf8)
        #expect(HeartbeatPlacement.insideEvents(client: clean, upstream: upstream, heartbeat: .keepalive) == 0)
        #expect(HeartbeatPlacement.insideEvents(client: spliced, upstream: upstream, heartbeat: .keepalive) == 1)
    }

    /// The boundary scanner that counts heartbeats leaves a spliced one in the body, so the body comparison fails
    /// too; the placement check says why.
    @Test func theScannerDoesNotStripASplicedHeartbeat() throws {
        var scanner = HeartbeatScanner(heartbeat: .keepalive)
        scanner.consume(Array("data: {\"del: keepalive\n\nta\":1}\n\n: keepalive\n\n".utf8))
        scanner.finish()
        #expect(scanner.count == 1)
        #expect(String(decoding: scanner.withoutHeartbeats, as: UTF8.self) == "data: {\"del: keepalive\n\nta\":1}\n\n")
    }
}
