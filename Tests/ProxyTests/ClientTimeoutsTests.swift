import NIOCore
import Testing

@testable import Proxy

/// ``ClientTimeouts`` alone: events in, timer actions and expiries out, at exact times.
@Suite struct ClientTimeoutsTests {
    static let origin = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func at(_ time: Duration) -> NIODeadline { origin + .nanoseconds(time.nanoseconds) }
    static let ns = Duration.nanoseconds(1)

    func machine(idle: Duration? = .seconds(75), header: Duration? = .seconds(30), body: Duration? = .seconds(60))
        -> ClientTimeouts
    {
        ClientTimeouts(idle: idle, header: header, body: body, now: Self.origin)
    }

    @Test func oneRequestWalksThroughTheThreeBounds() {
        var timeouts = machine()
        #expect(timeouts.start() == .arm(.init(kind: .idle, at: Self.at(.seconds(75)))))
        #expect(timeouts.bytesReceived(now: Self.at(.seconds(10))) == .arm(.init(kind: .header, at: Self.at(.seconds(40)))))
        #expect(timeouts.bytesReceived(now: Self.at(.seconds(20))) == .none, "more head bytes do not extend the head's bound")
        #expect(timeouts.requestHeadReceived(now: Self.at(.seconds(21))) == .arm(.init(kind: .body, at: Self.at(.seconds(81)))))
        #expect(timeouts.bytesReceived(now: Self.at(.seconds(50))) == .arm(.init(kind: .body, at: Self.at(.seconds(110)))))
        #expect(timeouts.requestBodyReceived(now: Self.at(.seconds(50))) == .none)
        #expect(timeouts.requestEndReceived(now: Self.at(.seconds(51))) == .cancel, "a request waiting for its answer")
        #expect(timeouts.responseStarted() == .none)
        #expect(timeouts.deadline == nil)
        #expect(timeouts.responseEnded(now: Self.at(.seconds(7200))) == .arm(.init(kind: .idle, at: Self.at(.seconds(7275)))))
    }

    @Test func expiriesAtExactlyTheirDeadline() {
        var idle = machine()
        _ = idle.start()
        #expect(idle.timerFired(now: Self.at(.seconds(75)) - .nanoseconds(1)) == nil)
        #expect(idle.resync() == .arm(.init(kind: .idle, at: Self.at(.seconds(75)))))
        #expect(idle.timerFired(now: Self.at(.seconds(75))) == .closeQuietly)
        #expect(idle.deadline == nil, "nothing more after an expiry")
        #expect(idle.bytesReceived(now: Self.at(.seconds(76))) == .none)

        var header = machine()
        _ = header.start()
        _ = header.bytesReceived(now: Self.at(.seconds(1)))
        #expect(header.timerFired(now: Self.at(.seconds(31))) == .answerRequestTimeout(.header, .seconds(30)))

        var body = machine()
        _ = body.start()
        _ = body.requestHeadReceived(now: Self.at(.seconds(1)))
        #expect(body.timerFired(now: Self.at(.seconds(61))) == .answerRequestTimeout(.body, .seconds(60)))
    }

    @Test func noBoundWhileAResponseIsUnderWay() {
        var timeouts = machine()
        _ = timeouts.start()
        _ = timeouts.requestHeadReceived(now: Self.at(.seconds(1)))
        // A refusal (413) starts a response before the request ended: no bound while it is written.
        #expect(timeouts.responseStarted() == .cancel)
        #expect(timeouts.bytesReceived(now: Self.at(.seconds(2))) == .none)
        #expect(timeouts.timerFired(now: Self.at(.seconds(1000))) == nil)
    }

    @Test func pipelinedRequestsEachWaitForTheirAnswer() {
        var timeouts = machine()
        _ = timeouts.start()
        _ = timeouts.requestHeadReceived(now: Self.at(.seconds(1)))
        _ = timeouts.requestEndReceived(now: Self.at(.seconds(1)))
        _ = timeouts.requestHeadReceived(now: Self.at(.seconds(1)))
        _ = timeouts.requestEndReceived(now: Self.at(.seconds(1)))
        _ = timeouts.responseStarted()
        #expect(timeouts.responseEnded(now: Self.at(.seconds(500))) == .none, "the second request still waits")
        _ = timeouts.responseStarted()
        #expect(timeouts.responseEnded(now: Self.at(.seconds(900))) == .arm(.init(kind: .idle, at: Self.at(.seconds(975)))))
    }

    @Test func timeSpentAnsweringDoesNotCountAgainstAPipelinedHead() {
        var timeouts = machine()
        _ = timeouts.start()
        _ = timeouts.requestHeadReceived(now: Self.at(.seconds(1)))
        _ = timeouts.requestEndReceived(now: Self.at(.seconds(1)))
        _ = timeouts.responseStarted()
        _ = timeouts.bytesReceived(now: Self.at(.seconds(2)))  // the next request's first bytes, during the answer
        #expect(timeouts.deadline == nil)
        #expect(timeouts.responseEnded(now: Self.at(.seconds(3600))) == .arm(.init(kind: .header, at: Self.at(.seconds(3630)))))
    }

    @Test func disabledBoundsArmNothing() {
        var timeouts = machine(idle: nil, header: nil, body: nil)
        #expect(timeouts.start() == .none)
        #expect(timeouts.bytesReceived(now: Self.at(.seconds(1))) == .none)
        #expect(timeouts.requestHeadReceived(now: Self.at(.seconds(2))) == .none)
        #expect(timeouts.deadline == nil)

        var headerOnly = machine(idle: nil, body: nil)
        #expect(headerOnly.start() == .none)
        #expect(headerOnly.bytesReceived(now: Self.at(.seconds(1))) == .arm(.init(kind: .header, at: Self.at(.seconds(31)))))
        #expect(headerOnly.requestHeadReceived(now: Self.at(.seconds(2))) == .cancel)
    }
}
