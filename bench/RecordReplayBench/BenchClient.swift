import NIOCore
import NIOPosix

/// What one benchmark connection saw: when its request went out and when each read arrived.
struct ClientTrace: Sendable {
    var sentAt: NIODeadline
    /// (bytes in the read, monotonic arrival time), in order.
    var reads: [(count: Int, at: NIODeadline)]
}

/// A loopback client that sends one request and records every read until the server closes.
enum BenchClient {
    static func run(port: Int, request: [UInt8]) async throws -> ClientTrace {
        let group = MultiThreadedEventLoopGroup.singleton
        let finished = group.any().makePromise(of: [(count: Int, at: NIODeadline)].self)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReadTimer(finished: finished))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let sentAt = try await channel.eventLoop.flatSubmit {
            let sentAt = NIODeadline.now()
            return channel.writeAndFlush(channel.allocator.buffer(bytes: request)).map { sentAt }
        }.get()
        return ClientTrace(sentAt: sentAt, reads: try await finished.futureResult.get())
    }
}

/// Stamps each read on arrival; completes `finished` when the connection closes.
private final class ReadTimer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let finished: EventLoopPromise<[(count: Int, at: NIODeadline)]>
    private var reads: [(count: Int, at: NIODeadline)] = []

    init(finished: EventLoopPromise<[(count: Int, at: NIODeadline)]>) {
        self.finished = finished
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reads.append((unwrapInboundIn(data).readableBytes, .now()))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished.succeed(reads)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
