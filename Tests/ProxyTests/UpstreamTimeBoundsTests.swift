import Proxy
import Testing
import Wire

/// Item 9 of the scenarios issue: `responseHeaderTimeout` and `streamIdleTimeout`, asserted exactly (to the
/// nanosecond) with a manual clock, through ``HeartbeatPolicy`` as the relay drives it.
@Suite struct UpstreamTimeBoundsTests {
    static let limits: [Duration] = [.milliseconds(1500), .seconds(120), .seconds(30 * 60)]
    static let oneNanosecond = Duration.nanoseconds(1)

    static func relay(
        heartbeat: Duration = .zero, streaming: Bool = true, header: Duration? = nil, idle: Duration? = nil
    ) -> SimulatedRelay {
        SimulatedRelay(
            interval: heartbeat, streaming: streaming,
            bounds: UpstreamTimeBounds(responseHeaderTimeout: header, streamIdleTimeout: idle))
    }

    static func headerError(_ limit: Duration) -> OpenAIError {
        UpstreamTimeBounds.Expiry(bound: .responseHeader, limit: limit).openAIError
    }

    static func idleError(_ limit: Duration) -> OpenAIError {
        UpstreamTimeBounds.Expiry(bound: .streamIdle, limit: limit).openAIError
    }

    @Test func messagesNameTheBoundAndItsLimit() {
        let header = Self.headerError(.seconds(120))
        #expect(header.message == "upstream sent no response head within 120000 ms (responseHeaderTimeout)")
        #expect(header.type == "timeout_error")
        #expect(header.code == 504)
        let idle = Self.idleError(.milliseconds(1500))
        #expect(idle.message == "upstream sent nothing for 1500 ms (streamIdleTimeout)")
        #expect(idle.type == "timeout_error")
        #expect(idle.code == 504)
    }

    // MARK: responseHeaderTimeout

    /// Nothing committed: the upstream is closed and the client gets the real status, 504, exactly at the limit
    /// after the request was sent, not a nanosecond before. Time in the queue (before sending) is not counted.
    @Test(arguments: limits, [Duration.zero, .seconds(7)])
    func headerBoundPassesExactlyAtTheLimit(limit: Duration, queued: Duration) {
        var relay = Self.relay(streaming: false, header: limit)
        relay.advance(to: queued)
        #expect(relay.boundTimer == nil, "no bound while the request waits for an upstream")
        relay.upstreamRequestSent()
        #expect(relay.boundTimer == queued + limit)
        relay.advance(to: queued + limit - Self.oneNanosecond)
        #expect(relay.writes.isEmpty)
        #expect(!relay.upstreamClosed)
        relay.advance(to: queued + limit)
        #expect(relay.upstreamClosed)
        #expect(relay.writes.map(\.write) == [.passThroughError(Self.headerError(limit))])
        #expect(relay.writes.first?.at == queued + limit)
        #expect(relay.boundTimer == nil)
    }

    /// The proxy committed `200` (a heartbeat): the bound ends the stream with one in-band error and a clean end.
    @Test(arguments: limits)
    func headerBoundAfterCommitIsAnInBandError(limit: Duration) {
        var relay = Self.relay(heartbeat: .seconds(1), header: limit)
        relay.upstreamRequestSent()
        relay.advance(to: limit)
        let writes = relay.writes.map(\.write)
        #expect(writes.first == .committedHead)
        #expect(writes.suffix(2) == [.inBandError(Self.headerError(limit)), .finish])
        #expect(relay.upstreamClosed)
        #expect(relay.timer == nil)
        #expect(relay.boundTimer == nil)
        #expect(relay.violations.isEmpty)
    }

    /// A head one nanosecond before the limit meets the bound; the idle bound then counts from the head. The
    /// header bound's timer stays armed (no timer action at the head) and re-arms for the idle deadline when it fires.
    @Test(arguments: limits)
    func headInTimeStartsTheIdleBound(limit: Duration) {
        var relay = Self.relay(header: limit, idle: limit * 2)
        relay.upstreamRequestSent()
        relay.advance(to: limit - Self.oneNanosecond)
        let timerActions = { relay.actions.filter(\.isBoundTimerAction).count }
        let before = timerActions()
        relay.upstreamHead()
        #expect(timerActions() == before, "the head costs no timer action")
        #expect(relay.boundTimer == limit)
        relay.advance(to: limit)
        #expect(relay.boundTimer == limit - Self.oneNanosecond + limit * 2, "re-armed for the idle deadline")
        relay.advance(to: limit * 3 - Self.oneNanosecond * 2)
        #expect(!relay.upstreamClosed)
        #expect(relay.writes.map(\.write) == [.upstreamHead])
        relay.advance(to: limit * 3 - Self.oneNanosecond)
        #expect(relay.upstreamClosed, "the idle bound passes exactly one idle period after the head")
    }

    /// An idle bound shorter than the time left on the header bound's timer re-arms it earlier at the head.
    @Test func aShorterIdleBoundMovesTheTimerEarlier() {
        var relay = Self.relay(header: .seconds(60), idle: .seconds(5))
        relay.upstreamRequestSent()
        relay.advance(to: .seconds(1))
        relay.upstreamHead()
        #expect(relay.boundTimer == .seconds(6))
        relay.advance(to: .seconds(6) - Self.oneNanosecond)
        #expect(!relay.upstreamClosed)
        relay.advance(to: .seconds(6))
        #expect(relay.upstreamClosed)
    }

    // MARK: streamIdleTimeout

    /// Under the upstream's own head, between events: item 7's rule — one in-band error naming the bound, then the
    /// connection closes without the terminating chunk. Body reads move the deadline without timer actions.
    @Test(arguments: limits)
    func idleBoundUnderUpstreamHeadAtABoundary(limit: Duration) {
        var relay = Self.relay(idle: limit)
        relay.upstreamRequestSent()
        relay.upstreamHead()
        let tenth = limit / 10
        for step in 1...5 {
            relay.advance(to: tenth * step)
            let before = relay.actions.count
            relay.upstreamBody("data: \(step)\n\n")
            #expect(relay.actions.count == before, "a body read costs no timer action")
        }
        relay.advance(to: tenth * 5 + limit - Self.oneNanosecond)
        #expect(!relay.upstreamClosed)
        #expect(relay.boundTimer == tenth * 5 + limit, "re-armed for the moved deadline")
        relay.advance(to: tenth * 5 + limit)
        #expect(relay.upstreamClosed)
        #expect(relay.writes.map(\.write).suffix(2) == [.inBandError(Self.idleError(limit)), .abort])
        #expect(relay.writes.last?.at == tenth * 5 + limit)
        #expect(relay.boundTimer == nil)
    }

    /// Inside an event nothing may be added: the upstream and the client connection are closed.
    @Test func idleBoundInsideAnEventOnlyCloses() {
        var relay = Self.relay(heartbeat: .seconds(1), idle: .milliseconds(4500))
        relay.upstreamRequestSent()
        relay.upstreamHead()
        relay.upstreamBody("data: {\"a\":")
        relay.advance(to: .milliseconds(4500))
        #expect(relay.upstreamClosed)
        #expect(relay.writes.map(\.write) == [.upstreamHead, .body, .abort])
        #expect(relay.withholds == 4)
    }

    /// After the proxy committed, the idle bound ends the stream with an in-band error and a clean end.
    @Test func idleBoundAfterCommitIsAnInBandError() {
        var relay = Self.relay(heartbeat: .seconds(1), idle: .milliseconds(2500))
        relay.upstreamRequestSent()
        relay.advance(to: .milliseconds(1500))
        relay.upstreamHead()
        relay.advance(to: .seconds(2))
        relay.upstreamBody("data: 1\n\n")
        relay.advance(to: .seconds(4))
        #expect(!relay.upstreamClosed)
        relay.advance(to: .seconds(4) + .milliseconds(500) - .nanoseconds(1))
        #expect(!relay.upstreamClosed)
        relay.advance(to: .seconds(4) + .milliseconds(500))
        #expect(relay.upstreamClosed)
        #expect(relay.writes.map(\.write).suffix(2) == [.inBandError(Self.idleError(.milliseconds(2500))), .finish])
        #expect(relay.violations.isEmpty)
    }

    /// A non-streaming answer whose body stalls after its head: closed like the upstream would leave it.
    @Test func idleBoundOnAPassedThroughBodyCloses() {
        var relay = Self.relay(streaming: false, idle: .seconds(3))
        relay.upstreamRequestSent()
        relay.upstreamHead(status: 200, contentType: "application/json")
        relay.upstreamBody("{\"choices\":")
        relay.advance(to: .seconds(3))
        #expect(relay.upstreamClosed)
        #expect(relay.writes.map(\.write) == [.upstreamHead, .body, .abort])
    }

    /// While the relay does not read because the client is slow (backpressure), the silence is the client's: no
    /// bound passes; on resuming, the bound starts again from that moment, exactly.
    @Test(arguments: [false, true])
    func aSlowClientsSilenceIsNotTheUpstreams(afterHead: Bool) {
        var relay = Self.relay(header: .seconds(2), idle: .seconds(2))
        relay.upstreamRequestSent()
        if afterHead { relay.upstreamHead() }
        relay.advance(to: .seconds(1))
        relay.perform(relay.policy.upstreamReadingPaused(true, now: relay.now))
        relay.advance(to: .seconds(60))
        #expect(!relay.upstreamClosed)
        relay.advance(to: .milliseconds(60_500))
        relay.perform(relay.policy.upstreamReadingPaused(false, now: relay.now))
        relay.advance(to: .milliseconds(62_500) - Self.oneNanosecond)
        #expect(!relay.upstreamClosed)
        relay.advance(to: .milliseconds(62_500))
        #expect(relay.upstreamClosed)
        let error = afterHead ? Self.idleError(.seconds(2)) : Self.headerError(.seconds(2))
        #expect(relay.actions.contains(afterHead ? .sendInBandError(error) : .passThroughError(error)))
    }

    // MARK: Off, ended, left

    @Test(arguments: [nil, Duration.zero, .seconds(-1)])
    func boundsOffArmNoTimer(limit: Duration?) {
        var relay = Self.relay(header: limit, idle: limit)
        relay.upstreamRequestSent()
        relay.advance(to: .seconds(100_000))
        relay.upstreamHead()
        relay.advance(to: .seconds(200_000))
        #expect(!relay.actions.contains { if case .scheduleBound = $0 { true } else { false } })
        #expect(!relay.upstreamClosed)
    }

    @Test func endOrClientLeavingCancelsTheBound() {
        var ended = Self.relay(idle: .seconds(1))
        ended.upstreamRequestSent()
        ended.upstreamHead()
        ended.upstreamEnded()
        #expect(ended.boundTimer == nil)
        #expect(ended.actions.last == .finish)

        var left = Self.relay(header: .seconds(1))
        left.upstreamRequestSent()
        left.clientCloses()
        #expect(left.boundTimer == nil)
        #expect(left.actions.contains(.cancelBoundTimer))
    }

    /// A late timer (loaded machine) that fires after the response ended does nothing.
    @Test func boundTimerAfterTheEndDoesNothing() {
        var policy = HeartbeatPolicy(
            interval: .zero, isStreamingRequest: true,
            bounds: UpstreamTimeBounds(responseHeaderTimeout: .seconds(1)))
        _ = policy.start(now: .zero)
        #expect(policy.upstreamRequestSent(now: .zero) == [.scheduleBound(at: .seconds(1))])
        #expect(policy.clientClosed(now: .milliseconds(10)) == [.cancelBoundTimer, .closeUpstream])
        #expect(policy.boundTimerFired(now: .seconds(1)) == [])
    }
}

extension HeartbeatAction {
    /// Scheduling or cancelling the bound timer.
    fileprivate var isBoundTimerAction: Bool {
        switch self {
        case .scheduleBound, .cancelBoundTimer: true
        default: false
        }
    }
}
