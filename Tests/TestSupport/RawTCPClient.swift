import NIOCore
import NIOPosix

import FakeUpstream

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A test client that speaks raw bytes: it sends exactly what a test gives it and records every read with its
/// monotonic arrival time, and how the connection ended (EOF or reset), so tests can check timing and faults.
public final class RawTCPClient: Sendable {
    /// One read from the socket.
    public struct Read: Sendable, Hashable {
        public var bytes: [UInt8]
        public var at: NIODeadline
    }

    /// How the server ended the connection, as the client saw it.
    public enum Ending: Sendable, Hashable {
        /// Orderly FIN: read returned 0.
        case eof
        /// ECONNRESET.
        case reset
        /// Any other error.
        case error(String)
    }

    /// What the client has seen so far.
    public struct Received: Sendable {
        public var reads: [Read] = []
        public var ending: Ending?

        public init() {}

        public var bytes: [UInt8] { reads.flatMap(\.bytes) }
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    private let channel: any Channel
    private let received: WatchedValue<Received>

    private init(channel: any Channel, received: WatchedValue<Received>) {
        self.channel = channel
        self.received = received
    }

    /// Connects to `host:port` on loopback.
    public static func connect(port: Int, host: String = "127.0.0.1") async throws -> RawTCPClient {
        let received = WatchedValue(Received())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(received: received))
                }
            }
            .connect(host: host, port: port)
            .get()
        return RawTCPClient(channel: channel, received: received)
    }

    /// Sends `bytes` in one write; returns the monotonic time taken on the event loop just before the write
    /// (loopback writes complete synchronously), so delays measured from it exclude task hops.
    @discardableResult
    public func send(_ bytes: [UInt8]) async throws -> NIODeadline {
        let channel = self.channel
        return try await channel.eventLoop.flatSubmit {
            let sentAt = NIODeadline.now()
            return channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).map { sentAt }
        }.get()
    }

    @discardableResult
    public func send(_ text: String) async throws -> NIODeadline {
        try await send(Array(text.utf8))
    }

    /// Sends FIN and keeps reading.
    public func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    /// Closes the connection (FIN); closing twice is not an error.
    public func close() async {
        try? await channel.close()
    }

    /// Closes with `SO_LINGER` {1, 0}, so the server sees a reset.
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
    public var snapshot: Received { received.value }

    /// Waits until `predicate` holds for what was received.
    @discardableResult
    public func waitFor(
        timeout: Duration = .seconds(10),
        _ what: String,
        _ predicate: @escaping @Sendable (Received) -> Bool
    ) async throws -> Received {
        try await received.wait(timeout: timeout, what: what, until: predicate)
    }

    /// Waits until at least `count` bytes arrived.
    @discardableResult
    public func waitForBytes(_ count: Int, timeout: Duration = .seconds(10)) async throws -> Received {
        try await waitFor(timeout: timeout, "\(count) bytes") { $0.bytes.count >= count }
    }

    /// Waits until the server ends the connection and says how.
    public func waitForEnding(timeout: Duration = .seconds(10)) async throws -> Ending {
        try await waitFor(timeout: timeout, "the connection to end") { $0.ending != nil }.ending!
    }
}

/// Records reads and the connection's end into the client's watched state; lives on the client's event loop.
private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let received: WatchedValue<RawTCPClient.Received>

    init(received: WatchedValue<RawTCPClient.Received>) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let read = RawTCPClient.Read(bytes: Array(unwrapInboundIn(data).readableBytesView), at: .now())
        received.update { $0.reads.append(read) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            end(.eof)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET {
            end(.reset)
        } else {
            end(.error("\(error)"))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(.eof)
        context.fireChannelInactive()
    }

    private func end(_ ending: RawTCPClient.Ending) {
        received.update { state in
            if state.ending == nil { state.ending = ending }
        }
    }
}
