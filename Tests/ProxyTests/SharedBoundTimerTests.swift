import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// ``SharedBoundTimer``: its owner is called exactly at the deadline it armed, never for a deadline it dropped, and
/// requests that arm and drop later and later deadlines on one connection schedule one event-loop callback, not
/// one each (the point of it). Driven time: `EmbeddedEventLoop.advanceTime`.
@Suite struct SharedBoundTimerTests {
    /// Records when it was called, on the loop's clock, as a duration since `origin`.
    final class Owner: BoundTimerOwner {
        let loop: EmbeddedEventLoop
        let origin: NIODeadline
        var firedAt: [Duration] = []

        init(loop: EmbeddedEventLoop, origin: NIODeadline) {
            self.loop = loop
            self.origin = origin
        }

        func boundTimerFired() {
            firedAt.append(.nanoseconds(Int64(loop.now.uptimeNanoseconds - origin.uptimeNanoseconds)))
        }
    }

    let loop = EmbeddedEventLoop()
    let origin: NIODeadline
    let timer: SharedBoundTimer
    static let ns = Duration.nanoseconds(1)

    init() {
        origin = loop.now
        timer = SharedBoundTimer(eventLoop: loop)
    }

    func owner() -> Owner { Owner(loop: loop, origin: origin) }
    func at(_ time: Duration) -> NIODeadline { origin + .nanoseconds(time.nanoseconds) }
    func advance(to time: Duration) { loop.advanceTime(to: at(time)) }

    @Test(arguments: [Duration.milliseconds(1500), .seconds(30 * 60)])
    func firesExactlyAtTheArmedDeadline(deadline: Duration) {
        let a = owner()
        timer.arm(at: at(deadline), for: a)
        advance(to: deadline - Self.ns)
        #expect(a.firedAt.isEmpty)
        advance(to: deadline)
        #expect(a.firedAt == [deadline])
        advance(to: deadline * 3)
        #expect(a.firedAt == [deadline], "once")
    }

    /// The callback scheduled for an earlier, dropped deadline comes early: it schedules itself again and the later
    /// owner is called at its own deadline, not the stale one.
    @Test func aLaterDeadlineIsKeptThroughAnEarlyCallback() {
        let first = owner()
        let second = owner()
        timer.arm(at: at(.seconds(10)), for: first)
        timer.disarm(for: first)
        timer.arm(at: at(.seconds(13)), for: second)
        advance(to: .seconds(10))
        #expect(first.firedAt.isEmpty && second.firedAt.isEmpty)
        advance(to: .seconds(13) - Self.ns)
        #expect(second.firedAt.isEmpty)
        advance(to: .seconds(13))
        #expect(second.firedAt == [.seconds(13)])
        #expect(first.firedAt.isEmpty)
        #expect(timer.schedules == 2, "the first callback, then one more for the later deadline")
    }

    /// An earlier deadline than the one scheduled cannot wait for it: rescheduled, called exactly then.
    @Test func anEarlierDeadlineReschedules() {
        let a = owner()
        timer.arm(at: at(.seconds(10)), for: a)
        timer.arm(at: at(.seconds(4)), for: a)
        advance(to: .seconds(4) - Self.ns)
        #expect(a.firedAt.isEmpty)
        advance(to: .seconds(20))
        #expect(a.firedAt == [.seconds(4)], "called at the deadline in force, and only for it")
        #expect(timer.schedules == 2)
    }

    /// A hundred requests on one keep-alive connection, each arming a 30-minute bound a second after the last and
    /// dropping it: one callback scheduled in all. The last one's bound still fires exactly.
    @Test func backToBackRequestsScheduleOneCallback() {
        let bound = Duration.seconds(30 * 60)
        var last = owner()
        for request in 0..<100 {
            let sent = Duration.seconds(request)
            advance(to: sent)
            last = owner()
            timer.arm(at: at(sent + bound), for: last)
            if request < 99 { timer.disarm(for: last) }
        }
        #expect(timer.schedules == 1)
        advance(to: .seconds(99) + bound - Self.ns)
        #expect(last.firedAt.isEmpty)
        advance(to: .seconds(99) + bound)
        #expect(last.firedAt == [.seconds(99) + bound])
        #expect(timer.schedules == 2, "the first request's callback came early and scheduled the last one's")
    }

    /// A dropped deadline (the request ended) never calls its owner, though the callback still comes then.
    @Test func aDroppedDeadlineNeverFires() {
        let a = owner()
        timer.arm(at: at(.seconds(5)), for: a)
        timer.disarm(for: a)
        advance(to: .seconds(60))
        #expect(a.firedAt.isEmpty)
        #expect(timer.schedules == 1, "nothing rescheduled with nobody armed")
    }

    /// Dropping someone else's deadline leaves the armed one alone.
    @Test func disarmingAnotherOwnerChangesNothing() {
        let a = owner()
        let b = owner()
        timer.arm(at: at(.seconds(5)), for: a)
        timer.disarm(for: b)
        advance(to: .seconds(5))
        #expect(a.firedAt == [.seconds(5)])
    }

    /// Stopped (the connection went): nothing fires, arming does nothing.
    @Test func stoppedNeverFires() {
        let a = owner()
        timer.arm(at: at(.seconds(5)), for: a)
        timer.stop()
        timer.arm(at: at(.seconds(7)), for: a)
        advance(to: .seconds(60))
        #expect(a.firedAt.isEmpty)
    }
}
