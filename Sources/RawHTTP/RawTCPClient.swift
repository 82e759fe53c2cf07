import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one raw timed TCP client (harness, tests, benches): it sends exactly the bytes it is given, records every
/// read with its monotonic arrival time, and how the connection ended (EOF, reset, another error), so callers can
/// check bytes, gaps and faults. Nothing between the socket and the record buffers or reframes.
///
/// Callers that must react on the connection's event loop as things happen (a client profile's timers, giving up
/// like a real client) pass `onEvent`; everyone else waits with ``waitFor(timeout:_:_:)`` or reads ``snapshot``.
/// Half-closure is allowed: a peer's FIN is reported as ``Ending/eof`` and the client may still write.
public final class RawTCPClient: Sendable {
    /// One read from the socket.
    public struct Read: Sendable, Hashable {
        /// The bytes, exactly as read.
        public var bytes: [UInt8]
        /// When they arrived (monotonic).
        public var at: NIODeadline

        public init(bytes: [UInt8], at: NIODeadline) {
            self.bytes = bytes
            self.at = at
        }
    }

    /// How the connection ended, as the client saw it.
    public enum Ending: Sendable, Hashable {
        /// The peer's orderly FIN (read returned 0).
        case eof
        /// ECONNRESET (or EPIPE: a write into a connection the peer reset).
        case reset
        /// Any other error.
        case error(String)
        /// This client closed first.
        case closedByClient
    }

    /// What the client has seen so far.
    public struct Received: Sendable {
        /// Every read, in order.
        public var reads: [Read] = []
        /// How the connection ended, once it did.
        public var ending: Ending?
        /// When it ended.
        public var endedAt: NIODeadline?

        public init() {}

        /// All bytes read, in order.
        public var bytes: [UInt8] { reads.flatMap(\.bytes) }
        /// ``bytes`` as UTF-8 text.
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// What happened, reported on the connection's event loop as it happens (before any waiter sees it).
    public enum Event: Sendable {
        case read(Read)
        case ended(Ending, at: NIODeadline)
    }

    /// A wait that did not come true in time; says what was awaited and for how long.
    public struct Timeout: Error, Sendable, Hashable, CustomStringConvertible {
        public var what: String
        public var timeout: Duration
        public var description: String { "timed out after \(timeout) waiting for \(what)" }
    }

    private let channel: any Channel
    private let state: Watched

    private init(channel: any Channel, state: Watched) {
        self.channel = channel
        self.state = state
    }

    /// The event loop the connection (and `onEvent`) runs on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Connects to `host:port` (loopback by default) within `connectTimeout`.
    public static func connect(
        host: String = "127.0.0.1", port: Int,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: Duration = .seconds(10),
        onEvent: (@Sendable (Event) -> Void)? = nil
    ) async throws -> RawTCPClient {
        let state = Watched()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReadRecorder(state: state, onEvent: onEvent))
                }
            }
            .connect(host: host, port: port)
            .get()
        return RawTCPClient(channel: channel, state: state)
    }

    /// Connects, sends `request` and returns when it was sent and everything read until the peer ended the
    /// connection (or `timeout` passed: then ``Received/ending`` is `nil`); closes it either way.
    public static func exchange(
        host: String = "127.0.0.1", port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        request: [UInt8], timeout: Duration = .seconds(600)
    ) async throws -> (sentAt: NIODeadline, received: Received) {
        let client = try await connect(host: host, port: port, group: group)
        do {
            let sentAt = try await client.send(request)
            _ = try? await client.waitForEnding(timeout: timeout)
            await client.close()
            return (sentAt, client.snapshot)
        } catch {
            await client.close()
            throw error
        }
    }

    /// Sends `bytes` in one write; returns the monotonic time taken on the event loop just before the write
    /// (loopback writes complete synchronously), so delays measured from it exclude task hops.
    @discardableResult
    public func send(_ bytes: [UInt8]) async throws -> NIODeadline {
        try await sendOnLoop(bytes).get()
    }

    @discardableResult
    public func send(_ text: String) async throws -> NIODeadline {
        try await send(Array(text.utf8))
    }

    /// ``send(_:)`` for callers on any thread that go on on the event loop: the future holds the send time.
    public func sendOnLoop(_ bytes: [UInt8]) -> EventLoopFuture<NIODeadline> {
        let channel = self.channel
        return channel.eventLoop.flatSubmit {
            let sentAt = NIODeadline.now()
            return channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).map { sentAt }
        }
    }

    /// Sends FIN and keeps reading.
    public func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    /// Closes the connection (FIN); closing twice is not an error.
    public func close() async {
        try? await channel.close()
    }

    /// Closes without waiting, from any thread (an `onEvent` handler giving up, like a real client would).
    public func closeNow() {
        channel.close(promise: nil)
    }

    /// Closes with `SO_LINGER` {1, 0}, so the peer sees a reset (a client that aborts).
    public func reset() async throws {
        let channel = self.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            guard let socket = channel as? any SocketOptionProvider else {
                return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
            }
            return socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).flatMap {
                let closed = channel.eventLoop.makePromise(of: Void.self)
                channel.close(promise: closed)
                return closed.futureResult
            }
        }.get()
    }

    /// Everything seen so far.
    public var snapshot: Received { state.value }

    /// Waits until `predicate` holds for what was received (checked now and after every read and the end); throws
    /// ``Timeout`` after `timeout`. The predicate runs under a lock: it must only look at the value it is given.
    @discardableResult
    public func waitFor(
        timeout: Duration = .seconds(10), _ what: String, _ predicate: @escaping @Sendable (Received) -> Bool
    ) async throws -> Received {
        try await state.wait(timeout: timeout, what: what, on: channel.eventLoop, until: predicate)
    }

    /// Waits until at least `count` bytes arrived.
    @discardableResult
    public func waitForBytes(_ count: Int, timeout: Duration = .seconds(10)) async throws -> Received {
        try await waitFor(timeout: timeout, "\(count) bytes") { $0.bytes.count >= count }
    }

    /// Waits until the connection ends and says how.
    public func waitForEnding(timeout: Duration = .seconds(10)) async throws -> Ending {
        try await waitFor(timeout: timeout, "the connection to end") { $0.ending != nil }.ending!
    }
}

/// The client's state behind a lock, with the waiters that event-loop updates wake.
private final class Watched: Sendable {
    private struct Waiter {
        var predicate: @Sendable (RawTCPClient.Received) -> Bool
        var promise: EventLoopPromise<RawTCPClient.Received>
        var timer: Scheduled<Void>?
    }

    private struct State {
        var value = RawTCPClient.Received()
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    var value: RawTCPClient.Received { state.withLockedValue { $0.value } }

    func update(_ body: (inout RawTCPClient.Received) -> Void) {
        let ready = state.withLockedValue { state -> [(Waiter, RawTCPClient.Received)] in
            body(&state.value)
            let ids = state.waiters.filter { $0.value.predicate(state.value) }.map(\.key)
            return ids.compactMap { id in state.waiters.removeValue(forKey: id).map { ($0, state.value) } }
        }
        for (waiter, value) in ready {
            waiter.timer?.cancel()
            waiter.promise.succeed(value)
        }
    }

    func wait(
        timeout: Duration, what: String, on eventLoop: any EventLoop,
        until predicate: @escaping @Sendable (RawTCPClient.Received) -> Bool
    ) async throws -> RawTCPClient.Received {
        let promise = eventLoop.makePromise(of: RawTCPClient.Received.self)
        let id: Int? = state.withLockedValue { state in
            if predicate(state.value) {
                promise.succeed(state.value)
                return nil
            }
            defer { state.nextID += 1 }
            state.waiters[state.nextID] = Waiter(predicate: predicate, promise: promise)
            return state.nextID
        }
        if let id {
            let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
                let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
                waiter?.promise.fail(RawTCPClient.Timeout(what: what, timeout: timeout))
            }
            state.withLockedValue { state in state.waiters[id]?.timer = timer }
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: { [self] in
            guard let id else { return }
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.timer?.cancel()
            waiter?.promise.fail(CancellationError())
        }
    }
}

/// The byte tap at the head of the client's pipeline: stamps each read on arrival and notes how the connection
/// ended; lives on the client's event loop.
private final class ReadRecorder: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let state: Watched
    private let onEvent: (@Sendable (RawTCPClient.Event) -> Void)?
    private var ended = false

    init(state: Watched, onEvent: (@Sendable (RawTCPClient.Event) -> Void)?) {
        self.state = state
        self.onEvent = onEvent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let read = RawTCPClient.Read(bytes: Array(unwrapInboundIn(data).readableBytesView), at: .now())
        onEvent?(.read(read))
        state.update { $0.reads.append(read) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent { end(.eof) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
            end(.reset)
        } else {
            end(.error("\(error)"))
        }
        context.close(promise: nil)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all { end(.closedByClient) }
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(.eof)
        context.fireChannelInactive()
    }

    private func end(_ ending: RawTCPClient.Ending) {
        guard !ended else { return }
        ended = true
        let at = NIODeadline.now()
        onEvent?(.ended(ending, at: at))
        state.update { state in
            state.ending = ending
            state.endedAt = at
        }
    }
}
