import Proxy
import Testing
import Wire

/// The heartbeat issue's "Behaviour" rules that the policy owns, one test each, with a manual clock.
@Suite struct HeartbeatPolicyTests {
    static let intervals: [Duration] = [.milliseconds(250), .seconds(1), .seconds(15)]

    // MARK: Rule 3: the clock starts at arrival; intervals count from the last byte sent

    @Test(arguments: intervals)
    func firstHeartbeatCommitsOneIntervalAfterArrival(interval: Duration) {
        var policy = HeartbeatPolicy(interval: interval, isStreamingRequest: true)
        #expect(policy.start(now: .zero) == [.schedule(at: interval)])
        #expect(policy.timerFired(now: interval) == [.commitHeadersAndHeartbeat, .schedule(at: interval * 2)])
        #expect(policy.timerFired(now: interval * 2) == [.sendHeartbeat, .schedule(at: interval * 3)])
    }

    @Test(arguments: intervals)
    func silenceGetsOneHeartbeatPerInterval(interval: Duration) {
        var relay = SimulatedRelay(interval: interval)
        relay.advance(to: interval * 10 + interval / 2)
        #expect(relay.heartbeatTimes == [interval] + (1...10).map { interval * $0 })  // commit + heartbeat at once
        #expect(relay.writes.first?.write == .committedHead)
    }

    /// The fault of a fixed ticker: bytes at half the interval must move the next heartbeat a whole interval on.
    @Test(arguments: intervals)
    func bytesSentRestartTheInterval(interval: Duration) {
        let tenth = interval / 10
        var relay = SimulatedRelay(interval: interval)
        relay.advance(to: tenth * 5)
        relay.upstreamHead()
        relay.advance(to: tenth * 12)
        relay.upstreamBody("data: 1\n\n")
        relay.advance(to: tenth * 21)  // the deadline of a ticker, 2I, is past: nothing yet
        #expect(relay.heartbeatTimes.isEmpty)
        relay.advance(to: tenth * 22)
        #expect(relay.heartbeatTimes == [tenth * 22])
        relay.advance(to: tenth * 32)
        #expect(relay.heartbeatTimes == [tenth * 22, tenth * 32])
    }

    /// The timer is lazy: body bytes only move the deadline, and cost no timer actions.
    @Test func bodyBytesDoNotReschedule() {
        var policy = HeartbeatPolicy(interval: .seconds(1), isStreamingRequest: true)
        _ = policy.start(now: .zero)
        _ = policy.upstreamHeadArrived(status: 200, contentType: "text/event-stream", now: .milliseconds(10))
        for millisecond in stride(from: 20, through: 990, by: 10) {
            let now = Duration.milliseconds(millisecond)
            #expect(policy.upstreamBodyForwarded(byteCount: 20, endsAtEventBoundary: true, now: now) == [])
        }
        // The old deadline fires; the moved one (990 ms + 1 s) is armed instead, with no heartbeat.
        #expect(policy.timerFired(now: .seconds(1)) == [.schedule(at: .milliseconds(1990))])
        #expect(policy.timerFired(now: .milliseconds(1990)) == [.sendHeartbeat, .schedule(at: .milliseconds(2990))])
    }

    /// A late timer (a loaded machine) sends at once and counts the next interval from the actual send.
    @Test func lateTimerCountsFromActualSend() {
        var policy = HeartbeatPolicy(interval: .seconds(1), isStreamingRequest: true)
        _ = policy.start(now: .zero)
        let actions = policy.timerFired(now: .milliseconds(1030))
        #expect(actions == [.commitHeadersAndHeartbeat, .schedule(at: .milliseconds(2030))])
    }

    // MARK: Rule 4: early commit, then the upstream's answer

    @Test func upstreamEventStreamAfterCommitKeepsOurHead() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(2500))
        relay.upstreamHead(status: 200, contentType: "text/event-stream; charset=utf-8")
        relay.upstreamBody("data: {\"a\":1}\n\ndata: [DONE]\n\n")
        relay.upstreamEnded()
        #expect(relay.actions.contains(.discardUpstreamHead))
        #expect(!relay.writes.contains { $0.write == .upstreamHead })
        #expect(relay.writes.map(\.write) == [.committedHead, .heartbeat, .heartbeat, .body, .finish])
        #expect(relay.clientBytes == Array(": keepalive\n\n: keepalive\n\ndata: {\"a\":1}\n\ndata: [DONE]\n\n".utf8))
        #expect(relay.timer == nil)
    }

    @Test func committedHeadIsAnUnbufferedEventStream() {
        let headers = Dictionary(
            uniqueKeysWithValues: CommittedStreamHead.headers.map { ($0.name.lowercased(), $0.value) }
        )
        #expect(CommittedStreamHead.status == 200)
        #expect(headers["content-type"] == "text/event-stream")
        #expect(headers["cache-control"] == "no-cache, no-transform")
        #expect(headers["x-accel-buffering"] == "no")
        #expect(headers["transfer-encoding"] == "chunked")
        #expect(headers["content-length"] == nil)
    }

    @Test(arguments: [
        (
            500, #"{"error":{"code":500,"message":"failed to decode","type":"server_error"}}"#,
            "failed to decode", "server_error"
        ),
        (
            400, #"{"error":{"message":"bad json","type":"invalid_request_error","param":null,"code":400}}"#,
            "bad json", "invalid_request_error"
        ),
        (
            503, #"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
            "Loading model", "unavailable_error"
        ),
        (500, "Internal Server Error", "Internal Server Error", "server_error"),
        (422, "{\"detail\":\"field required\"}", "field required", "invalid_request_error"),
        (502, "", "upstream answered HTTP 502 with an empty body", "server_error"),
        (404, "{\"error\":\"model not found\"}", "model not found", "not_found_error"),
    ])
    func upstreamErrorAfterCommitBecomesOneInBandEvent(status: Int, body: String, message: String, type: String) {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(1500))
        relay.upstreamHead(status: status, contentType: "application/json")
        relay.advance(to: .milliseconds(2500))  // a slow error body still gets heartbeats
        relay.upstreamBody(body)
        relay.upstreamEnded()
        let expected = OpenAIError(message: message, type: type, code: status)
        #expect(relay.writes.map(\.write) == [.committedHead, .heartbeat, .heartbeat, .inBandError(expected), .finish])
        #expect(relay.clientBytes == Array((": keepalive\n\n: keepalive\n\n" + expected.sseEvent).utf8))
        #expect(relay.timer == nil)
    }

    static let failures: [UpstreamFailure] = [
        .connectionRefused(model: "m", detail: "connection refused (errno 111)"),
        .connectionLost(model: "m"),
        .healthCheckTimedOut(model: "m", after: .seconds(120)),
        .startFailed(model: "m", detail: "exit code 1"),
    ]

    @Test(arguments: failures)
    func failureAfterCommitBecomesOneInBandEvent(failure: UpstreamFailure) {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(1500))
        relay.perform(relay.policy.upstreamFailed(failure.openAIError, now: relay.now))
        relay.advance(to: .seconds(10))
        #expect(relay.writes.map(\.write) == [.committedHead, .heartbeat, .inBandError(failure.openAIError), .finish])
        #expect(relay.timer == nil)
    }

    @Test func failureWhileCollectingAnErrorBodyKeepsTheUpstreamStatus() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(1500))
        relay.upstreamHead(status: 503, contentType: "application/json")
        relay.upstreamBody("{\"error\":")
        relay.upstreamFails()
        guard case .inBandError(let error) = relay.writes.dropLast().last?.write else {
            Issue.record("expected an in-band error, got \(relay.writes)")
            return
        }
        #expect(error.code == 503)
        #expect(error.type == "unavailable_error")
        #expect(error.message.contains("503") && error.message.contains("closed the connection"))
        #expect(relay.writes.last?.write == .finish)
    }

    @Test(arguments: failures)
    func failureBeforeCommitPassesThroughWithItsStatus(failure: UpstreamFailure) {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(900))
        relay.perform(relay.policy.upstreamFailed(failure.openAIError, now: relay.now))
        relay.advance(to: .seconds(10))
        #expect(relay.writes.map(\.write) == [.passThroughError(failure.openAIError)])
        #expect(relay.actions.contains(.cancelTimer))
        #expect(failure.openAIError.code >= 500)
    }

    @Test(arguments: [400, 404, 500, 503])
    func errorAnswerBeforeCommitPassesThroughUntouched(status: Int) {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(900))
        relay.upstreamHead(status: status, contentType: "application/json")
        relay.advance(to: .seconds(5))  // a slow error body: no heartbeat may go into it
        relay.upstreamBody("{\"error\":{\"message\":\"x\"}}")
        relay.upstreamEnded()
        #expect(relay.writes.map(\.write) == [.upstreamHead, .body, .finish])
        #expect(relay.actions.contains(.cancelTimer))
        #expect(relay.heartbeatTimes.isEmpty)
    }

    /// Bytes of a JSON 200 cannot go into an event stream the client already has: say so in band, drop the rest.
    @Test func nonEventStreamSuccessAfterCommitIsAnInBandError() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(1500))
        relay.upstreamHead(status: 200, contentType: "application/json")
        #expect(relay.upstreamClosed)
        guard case .inBandError(let error) = relay.writes.dropLast().last?.write else {
            Issue.record("expected an in-band error, got \(relay.writes)")
            return
        }
        #expect(error.code == 502)
        #expect(error.message.contains("application/json"))
        #expect(relay.writes.last?.write == .finish)
    }

    @Test func upstreamClosingWithoutAnswerIsAnError() {
        var early = HeartbeatPolicy(interval: .seconds(1), isStreamingRequest: true)
        _ = early.start(now: .zero)
        let before = early.upstreamEnded(now: .milliseconds(500))
        #expect(before.count == 2)
        #expect(before.first == .cancelTimer)
        guard case .passThroughError(let error) = before.last else {
            Issue.record("expected a passed-through error, got \(before)")
            return
        }
        #expect(error.code == 502)

        var late = HeartbeatPolicy(interval: .seconds(1), isStreamingRequest: true)
        _ = late.start(now: .zero)
        _ = late.timerFired(now: .seconds(1))
        #expect(late.upstreamEnded(now: .milliseconds(1500)) == [.cancelTimer, .sendInBandError(error), .finish])
    }

    // MARK: Rule 5: only at event boundaries; withheld mid-event

    @Test(arguments: intervals)
    func stallInsideAnEventWithholds(interval: Duration) {
        let tenth = interval / 10
        var relay = SimulatedRelay(interval: interval)
        relay.upstreamHead()
        relay.upstreamBody("data: {\"content\":\"he")
        relay.advance(to: tenth * 35)
        #expect(relay.heartbeatTimes.isEmpty)
        #expect(relay.withholds == 3)
        #expect(relay.policy.stats.heartbeatsWithheld == 3)
        relay.upstreamBody("llo\"}\n\n")
        // The completing bytes restart the interval: the next heartbeat is one interval after them, no burst.
        relay.advance(to: tenth * 44)
        #expect(relay.heartbeatTimes.isEmpty)
        relay.advance(to: tenth * 45)
        #expect(relay.heartbeatTimes == [tenth * 45])
        #expect(SSEEvents.parse(relay.clientBytes) == [["data: {\"content\":\"hello\"}"]])
    }

    /// After a complete line the event is still open: a blank line now would cut it in two.
    @Test(arguments: ["data: a\n", "data: a\r\n", "data: a\r", ": upstream comment\n", "event: x\n"])
    func stallAfterACompleteLineStillWithholds(partial: String) {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.upstreamHead()
        relay.upstreamBody(partial)
        relay.advance(to: .seconds(3))
        #expect(relay.heartbeatTimes.isEmpty)
        #expect(relay.withholds == 3)
    }

    /// Upstream comment lines (llama-server's own keep-alives) pass through unchanged and count as bytes sent.
    @Test func upstreamCommentsPassThroughAndCount() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.upstreamHead()
        for tenth in 1...5 {
            relay.advance(to: .milliseconds(900 * tenth))
            relay.upstreamBody(": upstream keepalive\n\n")
        }
        relay.advance(to: .milliseconds(5400))
        #expect(relay.heartbeatTimes.isEmpty)
        relay.advance(to: .milliseconds(5500))
        #expect(relay.heartbeatTimes == [.milliseconds(5500)])
        let upstream = String(repeating: ": upstream keepalive\n\n", count: 5)
        #expect(relay.clientBytesWithoutHeartbeats == Array(upstream.utf8))
    }

    @Test(arguments: [
        ("data: x\r\r", ": keepalive\r\r"), ("data: x\r\n\r\n", ": keepalive\n\n"), ("data: x\n\n", ": keepalive\n\n"),
    ])
    func heartbeatMatchesTheBoundary(event: String, heartbeat: String) {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.upstreamHead()
        relay.upstreamBody(event)
        relay.advance(to: .seconds(1))
        #expect(relay.clientBytes == Array((event + heartbeat).utf8))
    }

    /// If the upstream breaks off inside an event after the proxy committed, the partial event is closed before
    /// the error event, so the error is never glued onto a half line.
    @Test func failureInsideAnEventClosesItFirst() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .seconds(1))
        relay.upstreamHead()
        relay.upstreamBody("data: {\"con")
        let error = UpstreamFailure.connectionLost(model: "m").openAIError
        relay.perform(relay.policy.upstreamFailed(error, now: relay.now))
        let events = SSEEvents.parse(relay.clientBytes)
        #expect(events == [["data: {\"con"], ["data: \(error.json)"]])
    }

    /// Item 7: with the upstream's own head forwarded, a body that breaks off between events gets one in-band error
    /// naming the break, then the connection is closed without the terminating chunk (``SimulatedRelay`` `.abort`):
    /// SDK clients raise an error with a message, generic clients still see a truncated body. Heartbeats inside
    /// the stream change nothing. With heartbeats off the rule is the same.
    @Test(arguments: [(Duration.seconds(1), true), (.zero, true), (.seconds(1), false), (.zero, false)])
    func breakAtBoundaryUnderUpstreamHeadSendsOneErrorThenCloses(interval: Duration, reset: Bool) {
        var relay = SimulatedRelay(interval: interval)
        relay.upstreamHead()
        relay.upstreamBody("data: 1\n\n")
        relay.advance(to: .seconds(2))
        let failure = UpstreamFailure.streamBroken(reset: reset, events: 1)
        relay.upstreamFails(failure)
        let heartbeats: [SimulatedRelay.ClientWrite] = interval > .zero ? [.heartbeat, .heartbeat] : []
        #expect(
            relay.writes.map(\.write)
                == [.upstreamHead, .body] + heartbeats + [.inBandError(failure.openAIError), .abort])
        #expect(
            failure.openAIError.message == "upstream connection \(reset ? "reset" : "closed") after 1 events")
        #expect(failure.openAIError.code == 502)
        #expect(relay.timer == nil)
    }

    /// Item 7, inside an event: nothing may be added (the partial event would swallow it), so the connection is
    /// only closed, as before.
    @Test(arguments: [Duration.seconds(1), .zero])
    func breakInsideAnEventUnderUpstreamHeadOnlyCloses(interval: Duration) {
        var relay = SimulatedRelay(interval: interval)
        relay.upstreamHead()
        relay.upstreamBody("data: 1\n\ndata: {\"par")
        relay.advance(to: .seconds(2))
        relay.upstreamFails(.streamBroken(reset: true, events: 1))
        #expect(relay.writes.map(\.write) == [.upstreamHead, .body, .abort])
        #expect(relay.clientBytes == Array("data: 1\n\ndata: {\"par".utf8))
        #expect(relay.timer == nil)
    }

    // MARK: Rule 2 and rule 1: never for non-streaming requests; interval 0 disables

    @Test(arguments: [(false, Duration.seconds(1)), (true, .zero), (true, .seconds(-1)), (false, .zero)])
    func disabledPolicyNeverTouchesTheResponse(streaming: Bool, interval: Duration) {
        var relay = SimulatedRelay(interval: interval, streaming: streaming)
        #expect(!relay.policy.isEnabled)
        relay.advance(to: .seconds(100))
        #expect(relay.timer == nil)
        relay.upstreamHead(status: 200, contentType: streaming ? "text/event-stream" : "application/json")
        relay.upstreamBody("{\"choices\":[")
        relay.advance(to: .seconds(200))
        relay.upstreamBody("]}")
        relay.upstreamEnded()
        #expect(relay.writes.map(\.write) == [.upstreamHead, .body, .body, .finish])
        #expect(relay.actions.allSatisfy { if case .schedule = $0 { false } else { true } })
        #expect(relay.clientBytes == Array("{\"choices\":[]}".utf8))
    }

    @Test func disabledPolicyPassesErrorsThrough() {
        var policy = HeartbeatPolicy(interval: .seconds(1), isStreamingRequest: false)
        #expect(policy.start(now: .zero) == [])
        #expect(policy.timerFired(now: .seconds(50)) == [])
        let error = UpstreamFailure.healthCheckTimedOut(model: "m", after: .seconds(120)).openAIError
        #expect(policy.upstreamFailed(error, now: .seconds(120)) == [.passThroughError(error)])
    }

    /// A streaming request whose upstream answers JSON (not SSE) is passed through without heartbeats inside.
    @Test func nonEventStreamAnswerGetsNoHeartbeats() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(500))
        relay.upstreamHead(status: 200, contentType: "application/json")
        #expect(relay.timer == nil)
        relay.upstreamBody("{\"choices\":\n\n")  // a blank line: only the content type keeps heartbeats out
        relay.advance(to: .seconds(10))
        relay.upstreamBody("[]}")
        relay.upstreamEnded()
        #expect(relay.heartbeatTimes.isEmpty)
        #expect(relay.clientBytes == Array("{\"choices\":\n\n[]}".utf8))
    }

    // MARK: Rule 8: client disconnect

    @Test(arguments: [Duration.milliseconds(500), .milliseconds(1500), .milliseconds(3700)])
    func clientLeavingCancelsTimerAndUpstream(at leaveTime: Duration) {
        var relay = SimulatedRelay(interval: .seconds(1))
        if leaveTime > .seconds(3) {
            relay.advance(to: .seconds(3))
            relay.upstreamHead()
        }
        relay.advance(to: leaveTime)
        let written = relay.writes.count
        let actions = relay.policy.clientClosed(now: leaveTime)
        #expect(actions == [.cancelTimer, .closeUpstream])
        relay.perform(actions)
        #expect(relay.timer == nil)
        #expect(relay.writes.count == written)

        // Whatever arrives afterwards asks for nothing.
        var policy = relay.policy
        let later = leaveTime + .seconds(1)
        #expect(policy.timerFired(now: later) == [])
        #expect(policy.upstreamHeadArrived(status: 200, contentType: "text/event-stream", now: later) == [])
        #expect(policy.upstreamBodyForwarded(byteCount: 9, endsAtEventBoundary: true, now: later) == [])
        #expect(policy.clientBytesSent(count: 9, now: later) == [])
        #expect(policy.upstreamEnded(now: later) == [])
        #expect(policy.upstreamFailed(UpstreamFailure.connectionLost(model: "m").openAIError, now: later) == [])
        #expect(policy.clientClosed(now: later) == [])
        #expect(policy.timerFired(now: later + .seconds(5)) == [])
    }

    // MARK: Rule 9: loading messages

    @Test func loadingMessagesCommitAndCountAsBytes() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(100))
        relay.perform(relay.policy.loadingStateCommitted(now: relay.now))
        relay.loadingMessage("data: {\"reasoning_content\":\"loading\"}\n\n")
        relay.advance(to: .milliseconds(900))
        relay.loadingMessage("data: {\"reasoning_content\":\".\"}\n\n")
        relay.advance(to: .milliseconds(1800))
        #expect(relay.heartbeatTimes.isEmpty)  // real silence only: 900 ms + 1 s is not there yet
        relay.advance(to: .milliseconds(1900))
        #expect(relay.writes.map(\.write) == [.loadingMessage, .loadingMessage, .heartbeat])
        relay.upstreamHead()
        #expect(relay.actions.contains(.discardUpstreamHead))
        #expect(relay.policy.stats.committedAt == .milliseconds(100))
    }

    // MARK: Rule 10: counters for the log

    @Test func statsCountWhatHappened() {
        var relay = SimulatedRelay(interval: .seconds(1))
        relay.advance(to: .milliseconds(2500))
        relay.upstreamHead()
        relay.upstreamBody("data: {")
        relay.advance(to: .milliseconds(4600))
        relay.upstreamBody("}\n\n")
        relay.upstreamEnded()
        let stats = relay.policy.stats
        #expect(stats.heartbeatsSent == 2)
        #expect(stats.heartbeatsWithheld == 2)
        #expect(stats.timeToUpstreamHead == .milliseconds(2500))
        #expect(stats.committedAt == .seconds(1))
        #expect(stats.description == "heartbeats=2 withheld=2 upstreamHead=2500ms committed=1000ms")
    }

    // MARK: Rule 7: state per request

    /// Two requests with different stalls, interleaved on one loop, each get their own schedule.
    @Test func requestsDoNotShareState() {
        var fast = SimulatedRelay(interval: .seconds(1))
        var slow = SimulatedRelay(interval: .seconds(1))
        fast.advance(to: .milliseconds(300))
        fast.upstreamHead()
        slow.advance(to: .seconds(3))
        fast.advance(to: .seconds(3))
        #expect(slow.heartbeatTimes == [.seconds(1), .seconds(1), .seconds(2), .seconds(3)])
        #expect(fast.heartbeatTimes == [.milliseconds(1300), .milliseconds(2300)])
    }

    // MARK: Content types

    @Test(arguments: [
        ("text/event-stream", true), ("text/event-stream; charset=utf-8", true), ("Text/Event-Stream", true),
        (" text/event-stream ;x=1", true), ("application/json", false), ("text/plain", false), (nil, false),
        ("text/event-streamx", false), ("text/event", false), ("", false), ("\tTEXT/event-STREAM", true),
    ])
    func recognisesEventStreams(contentType: String?, expected: Bool) {
        #expect(CommittedStreamHead.isEventStream(contentType: contentType) == expected)
    }
}
