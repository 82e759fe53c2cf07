import Testing

@testable import FakeUpstream

private let chat = RequestContext(method: "POST", path: "/v1/chat/completions", stream: true)
private let ping = Array(":\n\n".utf8)
/// A ping as one HTTP chunk: what the fake writes into a chunked stream.
private let pingChunk = "3\r\n:\n\n\r\n"
private let event = Array("data: {\"x\":1}\n\n".utf8)

private func plan(
    _ steps: [Step], headers: HeadTiming = .early, ping: SSEPing? = nil, scale: Double = 1,
    request: RequestContext = chat
) -> ResponsePlan {
    let behaviour = LlamaServerBehaviour(headers: headers, ping: ping)
    return ResponsePlanner(timeScale: scale, llamaServer: behaviour).plan(ResponseScript(steps: steps), for: request)
}

private func every(_ interval: Duration, bytes: [UInt8] = ping, perRequest: Bool = false) -> SSEPing {
    SSEPing(interval: interval, bytes: bytes, perRequest: perRequest)
}

extension ResponsePlan {
    /// When each ping (a write of exactly `chunk`) is planned.
    fileprivate func offsets(ofWrites chunk: String = pingChunk) -> [Duration] {
        actions.compactMap { timed in
            guard case .write(let bytes) = timed.action, String(decoding: bytes, as: UTF8.self) == chunk else {
                return nil
            }
            return timed.at
        }
    }

    /// When the head (the first write) is planned.
    fileprivate var headOffset: Duration? { actions.first?.at }
}

private let sseHead = ResponseHead(
    status: 200, headers: [HeaderField("Content-Type", "text/event-stream")], framing: .chunked)

/// The head timing of llama.cpp #23884, planned exactly.
@Suite struct HeadTimingTests {
    /// The `tokens` step is the slot: `early` sends the head at its start (after any earlier `wait`, the queue),
    /// `afterPrefill` with the first chunk, once `firstTokenAfter` (the prefill) is over.
    @Test(arguments: [(HeadTiming.early, Duration.seconds(2)), (.afterPrefill, .seconds(662))])
    func headGoesOutAtSlotStartOrAfterThePrefill(timing: HeadTiming, expected: Duration) {
        let tokens = TokenStream(count: 2, perSecond: 1, firstTokenAfter: .seconds(660))
        let result = plan([.wait(.seconds(2)), .tokens(tokens), .end(.close)], headers: timing)
        #expect(result.headOffset == expected)
        #expect(result.writeTexts.first?.hasPrefix("HTTP/1.1 200 OK\r\n") == true)
        #expect(result.writeTexts.first?.contains("Content-Type: text/event-stream\r\n") == true)
        // The first chunk comes after the prefill either way.
        #expect(result.actions[1].at == .seconds(662))
    }

    /// A script that already sent its own head keeps it: `early` never adds a second one.
    @Test func earlyNeverAddsASecondHead() {
        let tokens = TokenStream(count: 1, firstTokenAfter: .seconds(5))
        let result = plan([.head(sseHead), .wait(.seconds(1)), .tokens(tokens)])
        #expect(result.writeTexts.filter { $0.hasPrefix("HTTP/1.1") }.count == 1)
        #expect(result.headOffset == .zero)
    }

    /// Early headers change nothing but the head's time: the bytes are the same as after the prefill.
    @Test func bothTimingsWriteTheSameBytes() {
        let steps: [Step] = [.tokens(TokenStream(count: 3, firstTokenAfter: .seconds(95))), .end(.close)]
        #expect(plan(steps, headers: .early).allBytes == plan(steps, headers: .afterPrefill).allBytes)
        #expect(plan(steps, headers: .early).actions.map(\.at) != plan(steps, headers: .afterPrefill).actions.map(\.at))
    }
}

/// llama-server's pings (#24013), planned as writes at exact offsets.
@Suite struct PingPlanningTests {
    /// A silent 5.5 s prefill after an early head: a ping every `interval` from the head on, none at or after the
    /// first chunk.
    @Test(arguments: [
        (Duration.seconds(1), [1, 2, 3, 4, 5].map { Duration.seconds($0) }),
        (.seconds(2), [2, 4].map { Duration.seconds($0) }),
        (.milliseconds(1500), [1500, 3000, 4500].map { Duration.milliseconds($0) }),
        (.seconds(30), []),
    ])
    func pingsFillASilentPrefill(interval: Duration, expected: [Duration]) {
        let tokens = TokenStream(count: 2, perSecond: 10, firstTokenAfter: .milliseconds(5500))
        let result = plan([.tokens(tokens), .end(.close)], ping: every(interval))
        #expect(result.offsets() == expected)
        #expect(result.headOffset == .zero)
        // Nothing between the first token and the end is silent for a whole interval.
        #expect(result.actions.last?.at == .milliseconds(5600))
    }

    /// Every write restarts the interval, pings included: no fixed ticker, no doubling.
    @Test func everyWriteRestartsTheInterval() {
        let result = plan([
            .head(sseHead), .wait(.milliseconds(1500)), .write(event), .wait(.milliseconds(2500)), .end(.close),
        ], ping: every(.seconds(1)))
        #expect(result.offsets() == [.seconds(1), .milliseconds(2500), .milliseconds(3500)])
    }

    /// A write due exactly when a ping would be goes out alone: the stream was silent for the interval, not longer.
    @Test func aWriteOnTheIntervalTakesThePingsPlace() {
        let result = plan([.head(sseHead), .wait(.seconds(2)), .write(event), .end(.close)], ping: every(.seconds(1)))
        #expect(result.offsets() == [.seconds(1)])
        #expect(result.writes.count == 4)  // head, ping, event, terminator
    }

    /// Never inside an event: while a split event's pieces stall, nothing is written; after its last piece the
    /// count starts again from that piece.
    @Test func noPingInsideASplitEvent() {
        let split = SplitWrite(bytes: event, offsets: [6], gaps: [.seconds(5)])
        let result = plan([.head(sseHead), .split(split), .wait(.milliseconds(2500)), .end(.close)], ping: every(.seconds(1)))
        #expect(result.offsets() == [.seconds(6), .seconds(7)])
    }

    /// An event left open by a plain write (its blank line comes later) holds pings back the same way; so does a
    /// blank line ended by a lone CR, whose next byte may be the LF of a CRLF (no byte may go between the two).
    @Test(arguments: [
        (Array("data: {\"x\":1}\n".utf8), Array("\n".utf8)),
        (Array("data: {\"x\":1}".utf8), Array("\n\n".utf8)),
        (Array("data: {\"x\":1}\r\r".utf8), Array("\n".utf8)),
    ])
    func noPingWhileAnEventMayStillGrow(first: [UInt8], rest: [UInt8]) {
        let result = plan([
            .head(sseHead), .write(first), .wait(.seconds(5)), .write(rest), .wait(.milliseconds(1500)), .end(.close),
        ], ping: every(.seconds(1)))
        #expect(result.offsets() == [.seconds(6)])
    }

    /// Nothing before the head: an old server with pings (a script that writes its head late) is silent until then.
    @Test func noPingBeforeTheHead() {
        let tokens = TokenStream(count: 1, firstTokenAfter: .seconds(10))
        let result = plan([.tokens(tokens), .wait(.seconds(3)), .end(.close)], headers: .afterPrefill, ping: every(.seconds(1)))
        #expect(result.headOffset == .seconds(10))
        #expect(result.offsets().allSatisfy { $0 > .seconds(10) })
    }

    /// Only event streams with room for extra bytes are pinged: not plain text, not a declared length, not raw
    /// (recorded) bytes that carry their own framing.
    @Test(arguments: [
        ResponseHead(status: 200, headers: [HeaderField("Content-Type", "application/json")]),
        ResponseHead(status: 200, headers: [HeaderField("Content-Type", "text/event-stream")],
            framing: .contentLength(declared: nil)),
        ResponseHead(status: 200, headers: [HeaderField("Content-Type", "text/event-stream")], framing: .raw),
        ResponseHead(status: 200, headers: []),
    ])
    func onlyEventStreamsArePinged(head: ResponseHead) {
        let result = plan([.head(head), .wait(.seconds(5)), .write(event), .end(.close)], ping: every(.seconds(1)))
        #expect(!result.allBytes.containsSubsequence(ping))
    }

    /// A close-delimited event stream has no chunks: the ping's bytes go out as they are.
    @Test func closeDelimitedStreamsGetBarePings() {
        let head = ResponseHead(
            status: 200, headers: [HeaderField("Content-Type", "text/event-stream")], framing: .closeDelimited)
        let result = plan([.head(head), .wait(.milliseconds(2500)), .end(.close)], ping: every(.seconds(1)))
        #expect(result.offsets(ofWrites: ":\n\n") == [.seconds(1), .seconds(2)])
    }

    /// Offsets scale with the run, exactly like every other write.
    @Test(arguments: [0.01, 0.5])
    func pingOffsetsScale(scale: Double) {
        let tokens = TokenStream(count: 1, firstTokenAfter: .milliseconds(3500))
        let result = plan([.tokens(tokens)], ping: every(.seconds(1)), scale: scale)
        let step = Duration.seconds(1).saturatingScaled(by: scale)
        #expect(result.offsets() == [step, step * 2, step * 3])
    }

    /// A gate's wait has no known length: no pings while it lasts, and silence counts again from its release.
    @Test func gatesPausePings() {
        let result = plan([
            .head(sseHead), .wait(.milliseconds(1500)), .gate("prefill"), .wait(.milliseconds(2500)), .write(event),
        ], ping: every(.seconds(1)))
        let pings = result.actions.filter { $0.action == .write(Array(pingChunk.utf8)) }
        let gateIndex = result.actions.firstIndex { $0.action == .gate("prefill") }!
        #expect(result.actions[..<gateIndex].filter { $0.action == .write(Array(pingChunk.utf8)) }.map(\.at) == [.seconds(1)])
        #expect(pings.map(\.at) == [.seconds(1), .seconds(1), .seconds(2)])
    }

    /// Silence before any ending is pinged; nothing follows the chunked terminator.
    @Test(arguments: [Ending.close, .fin, .rst, .hang])
    func pingsStopAtTheEnd(ending: Ending) {
        let result = plan([.head(sseHead), .wait(.milliseconds(2500)), .end(ending)], ping: every(.seconds(1)))
        #expect(result.offsets() == [.seconds(1), .seconds(2)])
        #expect(result.ending == ending)
    }

    /// The bytes are the scenario's: another server's comment, framed as one chunk.
    @Test func customBytes() {
        let keepalive = Array(": keepalive\n\n".utf8)
        let result = plan([.head(sseHead), .wait(.milliseconds(1500)), .end(.close)], ping: every(.seconds(1), bytes: keepalive))
        #expect(result.offsets(ofWrites: "d\r\n: keepalive\n\n\r\n") == [.seconds(1)])
    }

    /// A tiny interval over a huge silence stops at the cap instead of filling memory.
    @Test func pingsPerResponseAreCapped() {
        let result = plan([.head(sseHead), .wait(.seconds(1000)), .end(.close)], ping: every(.milliseconds(1)))
        #expect(result.offsets().count == SSEPing.maxPingsPerResponse)
    }

    /// Since #25241 a request may set its own interval (`sse_ping_interval`, seconds; 0 or less: none), when the
    /// scenario honours it; otherwise the scenario's interval holds.
    @Test(arguments: [
        (#"{"stream":true,"sse_ping_interval":2}"#, true, [2, 4].map { Duration.seconds($0) }),
        (#"{"stream":true,"sse_ping_interval":0.5}"#, true, [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500].map { Duration.milliseconds($0) }),
        (#"{"stream":true,"sse_ping_interval":-1}"#, true, []),
        (#"{"stream":true,"sse_ping_interval":0}"#, true, []),
        (#"{"stream":true,"sse_ping_interval":true}"#, true, [3].map { Duration.seconds($0) }),
        (#"{"stream":true}"#, true, [3].map { Duration.seconds($0) }),
        (#"{"stream":true,"sse_ping_interval":1}"#, false, [3].map { Duration.seconds($0) }),
    ])
    func perRequestInterval(body: String, perRequest: Bool, expected: [Duration]) {
        var request = chat
        request.body = Array(body.utf8)
        let result = plan(
            [.head(sseHead), .wait(.seconds(5)), .end(.close)], ping: every(.seconds(3), perRequest: perRequest),
            request: request)
        #expect(result.offsets() == expected)
    }

    /// Without a `ping` nothing is added: today's scenarios play byte for byte as before.
    @Test func noPingByDefault() {
        let steps: [Step] = [.head(sseHead), .wait(.seconds(60)), .write(event), .end(.close)]
        #expect(plan(steps).writes.count == 3)
        #expect(LlamaServerBehaviour() == LlamaServerBehaviour(headers: .afterPrefill, ping: nil))
    }
}

extension Array where Element == UInt8 {
    fileprivate func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
