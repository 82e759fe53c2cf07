import NIOConcurrencyHelpers
import NIOCore

/// Which upstream an idle connection belongs to: the model as well as the address, so that a port freed by one
/// model and taken by another never receives the first one's connections.
struct UpstreamPoolKey: Hashable, Sendable {
    var model: String
    var upstream: UpstreamURL
}

/// The idle upstream connections of one event loop. Relay and upstream share the client connection's loop (see
/// ``UpstreamConnector``), so a pool per loop needs no lock and hands out sockets already on the right thread.
/// The rules are ``UpstreamExchange`` (reuse, retry) and ``UpstreamIdleSet`` (hand-out, expiry); this class carries
/// them out with channels and one timer.
///
/// A released connection becomes available only after the loop has polled its sockets once more (two task hops):
/// an upstream that closes right after its answer (as llama-server does after a stream, and some servers after any
/// answer) has its FIN read and the connection removed before a request can take it.
final class UpstreamPool {
    let eventLoop: any EventLoop
    private var idle = UpstreamIdleSet<UpstreamPoolKey, ChannelBox>()
    private var handlers: [ObjectIdentifier: UpstreamResponseHandler] = [:]
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Connections released and not yet available (waiting for the loop to poll once more).
    private var settling = 0
    /// Counters for tests and the debug log.
    private(set) var reusedCount = 0
    private(set) var releasedCount = 0

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Idle connections (tests).
    var idleCount: Int { idle.count }

    private var now: Duration { .nanoseconds(Int64(eventLoop.now.uptimeNanoseconds)) }

    /// An idle, live, unexpired connection for `key`, with its response handler and how many requests it served;
    /// expired ones met on the way are closed.
    func take(_ key: UpstreamPoolKey) -> (channel: any Channel, handler: UpstreamResponseHandler, served: Int)? {
        eventLoop.preconditionInEventLoop()
        while true {
            let (entry, expired) = idle.take(key: key, now: now)
            for box in expired { close(box) }
            guard let entry else { return nil }
            let id = ObjectIdentifier(entry.connection.channel)
            guard let handler = handlers.removeValue(forKey: id), entry.connection.channel.isActive else {
                close(entry.connection)
                continue
            }
            handler.idleClosed = nil
            reusedCount += 1
            return (entry.connection.channel, handler, entry.requestsServed)
        }
    }

    /// A connection whose exchange ended with `verdict`: pooled (after the loop polls once more) or closed.
    /// `readingPaused`: the relay had stopped reading it (client backpressure), so reading is turned on again.
    func release(
        _ channel: any Channel, handler: UpstreamResponseHandler, key: UpstreamPoolKey, requestsServed: Int,
        verdict: UpstreamExchange.Verdict, readingPaused: Bool = true
    ) {
        eventLoop.preconditionInEventLoop()
        handler.relay = nil
        guard case .reuse(let idleFor) = verdict, channel.isActive else {
            channel.close(promise: nil)
            return
        }
        releasedCount += 1
        // The relay may have paused reading (client backpressure): an idle connection must see its close.
        if readingPaused {
            try? channel.syncOptions?.setOption(.autoRead, value: true)
            channel.read()
        }
        let box = ChannelBox(channel)
        // Any close or byte from now on ends the connection (the handler closes it on a byte); while settling
        // nothing can take it, and the settle step below finds it inactive.
        // A strong capture (a weak one would give the pool a side table, and every retain of it the slow path):
        // the cycle pool → handler → closure → pool ends whenever `idleClosed` is cleared or called, which every way
        // out of the idle set does (take, close, the connection's own close).
        handler.idleClosed = {
            self.idle.remove(box, key: key, now: self.now)
            self.handlers[ObjectIdentifier(channel)] = nil
        }
        settling += 1
        let releasedAt = now
        eventLoop.assumeIsolated().execute {
            self.eventLoop.assumeIsolated().execute {
                self.settling -= 1
                guard channel.isActive, handler.idleClosed != nil else {
                    handler.idleClosed = nil
                    channel.close(promise: nil)
                    return
                }
                guard
                    self.idle.release(
                        box, key: key, requestsServed: requestsServed, idleFor: idleFor, now: releasedAt)
                else {
                    handler.idleClosed = nil
                    channel.close(promise: nil)
                    return
                }
                self.handlers[ObjectIdentifier(channel)] = handler
                self.armTimer(added: releasedAt + idleFor)
            }
        }
    }

    /// Closes every idle connection to `model` (it stopped or was swapped out: its port may be reused).
    func drop(model: String) {
        eventLoop.preconditionInEventLoop()
        for box in idle.drop(where: { $0.model == model }) { close(box) }
    }

    /// Closes every idle connection.
    func dropAll() {
        for box in idle.drop(where: { _ in true }) { close(box) }
    }

    private func close(_ box: ChannelBox) {
        handlers[ObjectIdentifier(box.channel)]?.idleClosed = nil
        handlers[ObjectIdentifier(box.channel)] = nil
        box.channel.close(promise: nil)
    }

    /// One timer for the earliest expiry: idle sockets are closed at their expiry, not only skipped. `added`: the
    /// expiry of the connection just pooled; a timer already due no later needs no look at every idle connection.
    private func armTimer(added: Duration? = nil) {
        if let added, let timerDeadline, timer != nil,
            timerDeadline <= NIODeadline.uptimeNanoseconds(UInt64(max(0, added.nanoseconds)))
        {
            return
        }
        guard let next = idle.nextExpiry else {
            timer?.cancel()
            timer = nil
            timerDeadline = nil
            return
        }
        let deadline = NIODeadline.uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))
        if let timerDeadline, timerDeadline <= deadline, timer != nil { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.timerDeadline = nil
            for box in self.idle.expire(now: self.now) { self.close(box) }
            self.armTimer()
        }
    }
}

/// A channel compared by identity (the idle set's handle).
struct ChannelBox: Equatable, @unchecked Sendable {
    let channel: any Channel
    init(_ channel: any Channel) { self.channel = channel }
    static func == (lhs: ChannelBox, rhs: ChannelBox) -> Bool { lhs.channel === rhs.channel }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The pools of every event loop (one per loop, made on first use, looked up by the loop's identity).
///
/// A slot's pool holds its loop strongly, which also keeps the loop's identity from passing to a new loop. No slot
/// refers to its loop `weak`ly: a weak reference gives the loop's object a side table for good, and from then on
/// every retain and release of the loop — NIO takes several per read and write, for `channel.eventLoop` — goes
/// through the runtime's slow path (2.1 % of the proxy's samples on small pass-through requests, `bench/cost.sh` under
/// `PROFILE=1`; 0.4–0.6 % after, which is ordinary deallocation).
final class UpstreamPools: Sendable {
    private let slots = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBound<UpstreamPool>]>([:])

    /// The process's pools (production).
    static let shared = UpstreamPools()

    init() {}

    /// The pool of `eventLoop`; call on that loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        let id = ObjectIdentifier(eventLoop)
        return slots.withLockedValue { slots in
            if let slot = slots[id] { return slot.value }
            let pool = UpstreamPool(eventLoop: eventLoop)
            slots[id] = NIOLoopBound(pool, eventLoop: eventLoop)
            return pool
        }
    }

    /// Closes the idle connections to `model` on every loop (a model stopped or swapped: its port may be reused).
    func drop(model: String) {
        let live = slots.withLockedValue { Array($0.values) }
        for bound in live {
            bound.eventLoop.execute { bound.value.drop(model: model) }
        }
    }
}

/// An ``UpstreamConnector`` whose relays reuse connections through ``UpstreamPools`` (the rules are
/// ``UpstreamExchange``). It wraps any connector, so TLS or test connectors keep their own `connect`.
struct PooledUpstreamConnector: UpstreamConnector {
    let base: any UpstreamConnector
    let pools: UpstreamPools

    init(base: any UpstreamConnector = BootstrapUpstreamConnector(), pools: UpstreamPools = .shared) {
        self.base = base
        self.pools = pools
    }

    func connect(
        to target: UpstreamURL,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        base.connect(to: target, on: eventLoop, initializer: initializer)
    }
}
