import NIOCore
import NIOEmbedded
import Testing
import Wire

@testable import Proxy

/// What the client receives when the upstream fails, through the real relay with driven time: in-band errors after
/// the proxy committed (heartbeat issue), a stream broken after the upstream's own head (item 7), and the upstream
/// time bounds at exactly their durations (item 9).
@Suite struct RelayDrivenFailureTests {
    static let ns = Duration.nanoseconds(1)
    static let heartbeat = RelayDrivenTimeTests.heartbeat

    // MARK: In-band errors after the commit

    enum Failure: String, CaseIterable, Sendable {
        case refused, closedBeforeHead, resetBeforeHead, errorStatus, resetAfterHead, closedAfterHead
    }

    /// The proxy committed `200` with a heartbeat; whatever the upstream then does wrong, the client gets exactly
    /// one in-band error event and a clean end (the terminating chunk), and the upstream is closed.
    @Test(arguments: Failure.allCases)
    func failureAfterCommitIsOneInBandErrorAndACleanEnd(failure: Failure) throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1), holdLeases: true)
        try rig.sendRequest()
        rig.advance(to: .milliseconds(1500))
        rig.connector.refuse = failure == .refused
        try rig.leases.grant()
        var events = ""
        let expected: OpenAIError
        switch failure {
        case .refused:
            expected = UpstreamFailure.connectionRefused(
                model: "m", detail: "\(IOError(errnoCode: 111, reason: "connect"))"
            ).openAIError
        case .closedBeforeHead:
            try rig.upstreamCloses()
            expected = UpstreamFailure.connectionLost(model: "m").openAIError
        case .resetBeforeHead:
            try rig.upstreamResets()
            expected = UpstreamFailure.connectionLost(model: "m").openAIError
        case .errorStatus:
            let body = "{\"error\":{\"message\":\"context overflow\",\"type\":\"invalid_request_error\",\"code\":400}}"
            try rig.upstreamWrites(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)"
                    + "\r\n\r\n\(body)")
            expected = OpenAIError(message: "context overflow", type: "invalid_request_error", code: 400)
        case .resetAfterHead, .closedAfterHead:
            try rig.upstreamStreamHead()
            events = "data: {\"n\":1}\n\ndata: {\"n\":2}\n\n"
            try rig.upstreamChunk(events)
            if failure == .resetAfterHead { try rig.upstreamResets() } else { try rig.upstreamCloses() }
            expected = UpstreamFailure.streamBroken(reset: failure == .resetAfterHead, events: 2).openAIError
        }
        let response = try rig.response()
        #expect(response.status == 200)
        #expect(response.text == Self.heartbeat + events + expected.sseEvent, "\(response)")
        #expect(response.ended, "a clean end under our own head")
        #expect(rig.spy.closedAt == nil, "the connection stays usable")
        if failure != .refused { #expect(try !rig.upstream.isActive) }
        rig.advance(by: .seconds(10))
        #expect(rig.spy.writes(after: .milliseconds(1500)).isEmpty, "nothing after the end")
        #expect(rig.spy.writes.filter { $0.part == .end }.count == 1)
    }

    /// Nothing committed yet: the upstream's error passes through with its real status and body.
    @Test func errorBeforeCommitPassesThroughWithItsStatus() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1))
        try rig.sendRequest()
        rig.advance(to: .milliseconds(900))
        let body = "{\"error\":{\"message\":\"busy\",\"type\":\"unavailable_error\",\"code\":503}}"
        try rig.upstreamWrites(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)"
                + "\r\n\r\n\(body)")
        rig.advance(to: .seconds(10))
        let response = try rig.response()
        #expect(response.status == 503)
        #expect(response.text == body)
        #expect(RelayDrivenTimeTests.heartbeatTimes(rig).isEmpty)
    }

    // MARK: Item 7: a break after the upstream's own head

    /// At an event boundary: the events so far, one in-band error naming the break and the event count, then the
    /// connection closes WITHOUT the terminating chunk. Inside an event: the partial event, then the close. With
    /// heartbeats on or off.
    @Test(arguments: [true, false], [true, false])
    func breakAfterTheUpstreamsHead(reset: Bool, atBoundary: Bool) throws {
        for heartbeat in [Duration?.none, .seconds(1)] {
            let rig = try DrivenRelayRig(heartbeat: heartbeat)
            try rig.sendRequest()
            rig.advance(to: .milliseconds(300))
            try rig.upstreamStreamHead()
            let complete = "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: {\"n\":3}\n\n"
            let partial = atBoundary ? "" : "data: {\"n\":"
            try rig.upstreamChunk(complete + partial)
            rig.advance(to: .milliseconds(700))
            if reset { try rig.upstreamResets() } else { try rig.upstreamCloses() }
            let brokeAt = rig.now
            let response = try rig.response()
            #expect(response.status == 200)
            let error = UpstreamFailure.streamBroken(reset: reset, events: 3).openAIError
            #expect(error.message == "upstream connection \(reset ? "reset" : "closed") after 3 events")
            #expect(response.text == complete + partial + (atBoundary ? error.sseEvent : ""), "\(response)")
            #expect(!response.ended, "no terminating chunk: the body is truncated")
            #expect(rig.spy.closedAt == brokeAt, "the client connection is closed at once")
            rig.advance(by: .seconds(10))
            #expect(rig.spy.writes(after: brokeAt).isEmpty)
        }
    }

    // MARK: Item 9: the upstream time bounds

    /// `responseHeaderTimeout`, nothing committed: exactly at the limit after the request went upstream (the wait
    /// for the model not counted), the upstream is closed and the client gets `504` with the bound's message.
    @Test(arguments: [Duration.milliseconds(1500), .seconds(120)], [Duration.zero, .seconds(3)])
    func responseHeaderTimeoutBeforeAnyCommit(limit: Duration, modelWait: Duration) throws {
        let rig = try DrivenRelayRig(heartbeat: nil, responseHeaderTimeout: limit, holdLeases: true)
        try rig.sendRequest()
        rig.advance(to: modelWait)
        try rig.leases.grant()
        rig.advance(to: modelWait + limit - Self.ns)
        #expect(try rig.upstream.isActive)
        #expect(rig.spy.writes.isEmpty)
        rig.advance(to: modelWait + limit)
        #expect(try !rig.upstream.isActive)
        let response = try rig.response()
        let error = UpstreamTimeBounds.Expiry(bound: .responseHeader, limit: limit).openAIError
        #expect(response.status == 504)
        #expect(response.text == error.json)
        #expect(error.type == "timeout_error")
        #expect(response.ended)
        #expect(rig.spy.writes.allSatisfy { $0.at == modelWait + limit })
    }

    /// Two requests on one keep-alive connection share its bound timer (``SharedBoundTimer``): the first is answered
    /// well inside its bound, the second's upstream never answers and gets its `504` exactly one limit after it went
    /// upstream — not at the first request's dropped deadline, and not a nanosecond early.
    @Test func responseHeaderTimeoutOfALaterRequestOnTheSameConnection() throws {
        let limit = Duration.seconds(10)
        let rig = try DrivenRelayRig(heartbeat: nil, responseHeaderTimeout: limit)
        try rig.sendRequest(stream: false)
        rig.advance(to: .seconds(1))
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let first = try rig.takeText()
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n") && first.hasSuffix("\r\n\r\n{}"), "\(first)")
        rig.advance(to: .seconds(3))
        try rig.sendRequest(stream: false)
        let second = try rig.upstream
        rig.advance(to: limit)
        #expect(try rig.take().isEmpty, "the first request's deadline passed: nothing for the second")
        #expect(second.isActive)
        rig.advance(to: .seconds(3) + limit - Self.ns)
        #expect(try rig.take().isEmpty)
        #expect(second.isActive)
        rig.advance(to: .seconds(3) + limit)
        #expect(!second.isActive)
        let error = UpstreamTimeBounds.Expiry(bound: .responseHeader, limit: limit).openAIError
        let answer = try rig.takeText()
        #expect(answer.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n") && answer.hasSuffix(error.json), "\(answer)")
    }

    /// `responseHeaderTimeout` after a heartbeat committed `200`: one in-band error at exactly the limit, clean end.
    @Test func responseHeaderTimeoutAfterCommitIsInBand() throws {
        let limit = Duration.seconds(5)
        let rig = try DrivenRelayRig(heartbeat: .seconds(2), responseHeaderTimeout: limit)
        try rig.sendRequest()
        rig.advance(to: limit - Self.ns)
        #expect(try rig.upstream.isActive)
        rig.advance(to: limit)
        #expect(try !rig.upstream.isActive)
        let error = UpstreamTimeBounds.Expiry(bound: .responseHeader, limit: limit).openAIError
        let response = try rig.response()
        #expect(response.status == 200)
        #expect(response.text == Self.heartbeat + Self.heartbeat + error.sseEvent)
        #expect(response.ended)
        #expect(RelayDrivenTimeTests.heartbeatTimes(rig) == [.seconds(2), .seconds(4)])
    }

    /// `streamIdleTimeout` under the upstream's own head: content restarts it, `:` comment pings do not (a wedged
    /// llama-server keeps pinging from its HTTP thread); when only pings come, exactly one bound after the last
    /// content, item 7's end: one in-band error, no terminating chunk.
    @Test(arguments: [Duration.milliseconds(2500), .seconds(30)])
    func streamIdleTimeoutUnderTheUpstreamsHead(limit: Duration) throws {
        let rig = try DrivenRelayRig(heartbeat: nil, streamIdleTimeout: limit)
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        var body = ""
        for step in 1...13 {
            rig.advance(to: limit / 4 * step)
            // Content every half bound up to step 10, pings in between and after (until just before the expiry).
            let chunk = step % 2 == 0 && step <= 10 ? "data: {\"n\":\(step)}\n\n" : ":\n\n"
            try rig.upstreamChunk(chunk)
            body += chunk
        }
        let lastContent = limit / 4 * 10
        rig.advance(to: lastContent + limit - Self.ns)
        #expect(try rig.upstream.isActive)
        rig.advance(to: lastContent + limit)
        #expect(try !rig.upstream.isActive)
        let error = UpstreamTimeBounds.Expiry(bound: .streamIdle, limit: limit).openAIError
        let response = try rig.response()
        #expect(response.text == body + error.sseEvent)
        #expect(!response.ended)
        #expect(rig.spy.closedAt == lastContent + limit)
    }

    /// `streamIdleTimeout` after the proxy committed (the upstream's head came late): in-band error, clean end; the
    /// heartbeats in between do not count as upstream reads.
    @Test func streamIdleTimeoutAfterCommitIsInBand() throws {
        let limit = Duration.milliseconds(3800)
        let rig = try DrivenRelayRig(heartbeat: .seconds(1), streamIdleTimeout: limit)
        try rig.sendRequest()
        rig.advance(to: .milliseconds(1500))
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: 1\n\n")
        rig.advance(to: .milliseconds(5300) - Self.ns)
        #expect(try rig.upstream.isActive)
        rig.advance(to: .milliseconds(5300))
        #expect(try !rig.upstream.isActive)
        let error = UpstreamTimeBounds.Expiry(bound: .streamIdle, limit: limit).openAIError
        let response = try rig.response()
        #expect(RelayDrivenTimeTests.heartbeatTimes(rig) == [.seconds(1), .milliseconds(2500), .milliseconds(3500), .milliseconds(4500)])
        #expect(response.text.hasSuffix("data: 1\n\n" + Self.heartbeat + Self.heartbeat + Self.heartbeat + error.sseEvent))
        #expect(response.ended)
    }

    /// Reading from the upstream follows the client's writability, and only its changes touch the upstream
    /// channel: one `read()` when the client drains, none per part read (the embedded channel's `autoRead` cannot be
    /// read back, so its `read()` calls are counted).
    @Test func upstreamReadingFollowsTheClientsWritability() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        let reads = ReadCounter()
        try rig.upstream.pipeline.syncOperations.addHandler(reads, position: .first)
        try rig.upstreamChunk("data: 1\n\n")
        try rig.upstreamChunk("data: 2\n\n")
        #expect(reads.count == 0, "parts read while the client takes them ask for nothing")
        rig.client.isWritable = false
        rig.client.pipeline.fireChannelWritabilityChanged()
        try rig.upstreamChunk("data: 3\n\n")
        #expect(reads.count == 0)
        rig.client.isWritable = true
        rig.client.pipeline.fireChannelWritabilityChanged()
        #expect(reads.count == 1, "the client drained: reading resumes once")
        try rig.upstreamChunk("data: 4\n\n")
        #expect(reads.count == 1)
        #expect(try rig.response().text == "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n")
    }

    /// A slow client (its socket full) makes the relay stop reading the upstream; that silence is not the
    /// upstream's, so `streamIdleTimeout` waits, and counts again from the moment the client drains.
    @Test func streamIdleTimeoutWaitsWhileTheClientIsSlow() throws {
        let rig = try DrivenRelayRig(heartbeat: nil, streamIdleTimeout: .seconds(2))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: 1\n\n")
        rig.advance(to: .seconds(1))
        rig.client.isWritable = false
        rig.client.pipeline.fireChannelWritabilityChanged()
        rig.advance(to: .seconds(30))
        #expect(try rig.upstream.isActive)
        rig.client.isWritable = true
        rig.client.pipeline.fireChannelWritabilityChanged()
        rig.advance(to: .seconds(32) - Self.ns)
        #expect(try rig.upstream.isActive)
        rig.advance(to: .seconds(32))
        #expect(try !rig.upstream.isActive)
        let error = UpstreamTimeBounds.Expiry(bound: .streamIdle, limit: .seconds(2)).openAIError
        #expect(try rig.response().text == "data: 1\n\n" + error.sseEvent)
    }

    /// A body that stalls inside an event meets the idle bound: closed, nothing added.
    @Test func streamIdleTimeoutInsideAnEventOnlyCloses() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1), streamIdleTimeout: .seconds(3))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: {\"a\":")
        rig.advance(to: .seconds(3))
        let response = try rig.response()
        #expect(response.text == "data: {\"a\":")
        #expect(!response.ended)
        #expect(rig.spy.closedAt == .seconds(3))
        #expect(RelayDrivenTimeTests.heartbeatTimes(rig).isEmpty)
    }
}
