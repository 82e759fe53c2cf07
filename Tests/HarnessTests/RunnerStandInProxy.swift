import FakeUpstream
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Wire

@testable import Harness

/// A minimal heartbeat proxy for streaming requests, only for tests: it lets the runner's proxied path, the
/// client's heartbeat counting and `--compare` be tested before the real proxy is wired in.
///
/// Per connection: forwards the request's bytes to the upstream; whenever the client has heard nothing for the
/// interval and the upstream's body stands between events, it sends a heartbeat (committing `200` +
/// `text/event-stream` first if needed); the upstream's body bytes follow as chunks. It assumes the upstream
/// answers 2xx with an SSE body; it is not the product.
final class StandInHeartbeatProxy: ProxyLauncher {
    private let servers = NIOLockedValueBox<[any Channel]>([])
    let launches = NIOLockedValueBox<[Scenario]>([])

    func launch(upstreamPort: Int, scenario: Scenario) async throws -> (port: Int, stop: @Sendable () async -> Void) {
        launches.withLockedValue { $0.append(scenario) }
        let interval = (scenario.spec?.proxy?.heartbeatInterval ?? .zero).scaled(by: scenario.timeScale)
        let heartbeat = try SSEHeartbeat(comment: scenario.spec?.proxy?.heartbeatComment ?? "keepalive")
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        StandInClientHandler(upstreamPort: upstreamPort, interval: interval, heartbeat: heartbeat))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        servers.withLockedValue { $0.append(server) }
        let port = server.localAddress?.port ?? 0
        return (port, { try? await server.close() })
    }
}

/// The client side of one stand-in proxy connection; the upstream side reports into it on the same event loop.
private final class StandInClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let upstreamPort: Int
    let interval: Duration
    let heartbeat: SSEHeartbeat
    var upstream: (any Channel)?
    var pendingRequest: [ByteBuffer] = []
    var committed = false
    var parser = HTTPResponseParser()
    var tracker = SSEBoundaryTracker()
    var timer: Scheduled<Void>?
    var done = false

    init(upstreamPort: Int, interval: Duration, heartbeat: SSEHeartbeat) {
        self.upstreamPort = upstreamPort
        self.interval = interval
        self.heartbeat = heartbeat
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StandInUpstreamHandler(client: bound))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let channel):
                    handler.upstream = channel
                    for buffer in handler.pendingRequest { channel.writeAndFlush(buffer, promise: nil) }
                    handler.pendingRequest = []
                case .failure:
                    context.close(promise: nil)
                }
            }
        armTimer(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let upstream { upstream.writeAndFlush(buffer, promise: nil) } else { pendingRequest.append(buffer) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done = true
        timer?.cancel()
        upstream?.close(promise: nil)
    }

    func armTimer(context: ChannelHandlerContext) {
        timer?.cancel()
        guard interval > .zero, !done else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(interval.nanosecondsClamped)) {
            let (handler, context) = bound.value
            handler.beat(context: context)
        }
    }

    func beat(context: ChannelHandlerContext) {
        guard !done else { return }
        if let bytes = heartbeat.bytes(after: tracker) {
            commit(context: context)
            write(HTTPWire.chunk(bytes), context: context)
        }
        armTimer(context: context)
    }

    func commit(context: ChannelHandlerContext) {
        guard !committed else { return }
        committed = true
        write(Array(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\n"
            + "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n\r\n").utf8), context: context)
    }

    func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    func upstreamBytes(_ bytes: [UInt8], context: ChannelHandlerContext) {
        guard !done else { return }
        let progress = parser.consume(bytes)
        if !progress.body.isEmpty {
            commit(context: context)
            tracker.consume(progress.body)
            write(HTTPWire.chunk(progress.body), context: context)
            armTimer(context: context)
        }
        if parser.isComplete { finish(error: nil, context: context) }
    }

    func upstreamClosed(context: ChannelHandlerContext) {
        guard !done else { return }
        parser.connectionClosed()
        finish(error: parser.isComplete ? nil : "the upstream closed the connection mid-response", context: context)
    }

    func finish(error: String?, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        timer?.cancel()
        commit(context: context)
        if let error {
            let event = tracker.bytesClosingCurrentEvent + Array(
                OpenAIError(message: error, type: "server_error", code: 502).sseEvent.utf8)
            write(HTTPWire.chunk(event), context: context)
        }
        write(HTTPWire.chunkTerminator, context: context)
        upstream?.close(promise: nil)
    }
}

private final class StandInUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let client: NIOLoopBound<(StandInClientHandler, ChannelHandlerContext)>

    init(client: NIOLoopBound<(StandInClientHandler, ChannelHandlerContext)>) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let (handler, clientContext) = client.value
        handler.upstreamBytes(buffer.readBytes(length: buffer.readableBytes) ?? [], context: clientContext)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let (handler, clientContext) = client.value
        handler.upstreamClosed(context: clientContext)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
