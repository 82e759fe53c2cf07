import NIOCore

/// What a ``SharedBoundTimer`` calls when the deadline it was armed with comes.
protocol BoundTimerOwner: AnyObject {
    func boundTimerFired()
}

/// The timer of the upstream time bounds (``UpstreamTimeBounds``), one per client connection, shared by the
/// requests that connection carries one after another.
///
/// Why: every relayed request arms a bound when it is sent upstream (30 minutes by default) and drops it when it
/// ends, and scheduling then cancelling an event-loop timer for each was about 2 % of a small pass-through request's
/// CPU (perf, 2026-12-02). Such a bound is far away and almost always dropped, so this timer is lazy:
/// - arming a deadline at or after the callback already scheduled only records it (the callback comes early and
///   schedules itself again for the recorded deadline), an earlier one reschedules;
/// - disarming only forgets the deadline; a callback that comes with nothing armed does nothing.
///
/// The owner is still called exactly at the deadline it armed, never before, so the bounds' timing is unchanged; a
/// keep-alive connection's requests schedule nothing until the first bound's time comes.
///
/// Confined to the connection's event loop, like the relays that use it. Its owner calls ``stop()`` when the
/// connection goes, so no callback outlives it for long, and an armed owner is held only until it disarms.
final class SharedBoundTimer {
    private let eventLoop: any EventLoop
    /// The callback on the event loop and when it comes.
    private var scheduled: (callback: NIOScheduledCallback, at: NIODeadline)?
    /// Who is waiting, and for when.
    private var armed: (owner: any BoundTimerOwner, at: NIODeadline)?
    private var stopped = false
    /// Callbacks scheduled so far: the laziness, as a number a test can check.
    private(set) var schedules = 0

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Calls `owner.boundTimerFired()` at `deadline` (replacing whatever was armed).
    func arm(at deadline: NIODeadline, for owner: any BoundTimerOwner) {
        guard !stopped else { return }
        armed = (owner, deadline)
        if let scheduled, scheduled.at <= deadline { return }
        schedule(at: deadline)
    }

    /// Forgets `owner`'s deadline (if it is the one armed).
    func disarm(for owner: any BoundTimerOwner) {
        if let armed, armed.owner === owner { self.armed = nil }
    }

    /// The connection is gone: nothing fires any more, and the scheduled callback is cancelled.
    func stop() {
        stopped = true
        armed = nil
        scheduled?.callback.cancel()
        scheduled = nil
    }

    private func schedule(at deadline: NIODeadline) {
        scheduled?.callback.cancel()
        scheduled = nil
        guard let callback = try? eventLoop.assumeIsolated().scheduleCallback(at: deadline, handler: Fire(timer: self))
        else { return }
        schedules += 1
        scheduled = (callback, deadline)
    }

    fileprivate func fired() {
        scheduled = nil
        guard let armed else { return }
        guard eventLoop.now >= armed.at else {
            schedule(at: armed.at)
            return
        }
        self.armed = nil
        armed.owner.boundTimerFired()
    }

    private struct Fire: NIOScheduledCallbackHandler {
        let timer: SharedBoundTimer

        func handleScheduledCallback(eventLoop: some EventLoop) {
            timer.fired()
        }
    }
}
