import DurationMath
import FakeUpstream
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Proxy
import RawHTTP
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One client connection of the recorder and its upstream connection: forwards the requests, forwards every
/// upstream read to the client at once, and records each exchange.
///
/// Sits last in the client pipeline, after `HTTPRequestDecoder`, with no response encoder: the client gets the
/// upstream's bytes untouched. The upstream channel runs on the same event loop and reports to this handler
/// through `UpstreamReadHandler`, so all state is confined to that loop and needs no lock. Backpressure: the
/// upstream reads only while the client is writable (`autoRead` off upstream). Requests are answered in order;
/// the next request waits until the previous exchange is settled.
final class RecordingSession: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    /// The exchange being recorded.
    private struct Exchange {
        var request: RecordedRequest
        var date: Date
        /// Just before the request's last bytes went upstream; offsets count from here.
        var start: NIODeadline?
        var reads: [RecordedRead] = []
        /// Follows the response's framing through the raw reads, to know when the exchange is over (a kept-alive
        /// connection may carry the next one); the bytes themselves are forwarded and recorded untouched.
        var decoder: ResponseDecoder
        var complete = false
        var graceTimer: Scheduled<Void>?
    }

    private let configuration: RecorderConfiguration
    private let sink: RecordingSink
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var upstream: (any Channel)?
    private var connecting = false
    private var connectFailure: String?
    private var queue = CircularBuffer<HTTPServerRequestPart>()
    private var exchange: Exchange?
    private var upstreamReset = false
    private var readPending = false
    private var clientClosed = false
    private var lastClientWrite: EventLoopFuture<Void>?
    /// Just before the upstream's latest write that carried bytes (``UpstreamWriteStamp``).
    private var lastUpstreamBytesAt: NIODeadline?

    init(configuration: RecorderConfiguration, sink: RecordingSink, logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.logger = logger
    }

    // MARK: Client side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { connectUpstream() }
    }

    func channelActive(context: ChannelHandlerContext) {
        if upstream == nil && !connecting { connectUpstream() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        queue.append(unwrapInboundIn(data))
        pump()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && readPending {
            readPending = false
            upstream?.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientClosed = true
        if let exchange, !exchange.complete {
            let seconds = exchange.start.map {
                String(format: "%.3f", Double((NIODeadline.now() - $0).nanoseconds) / 1e9)
            }
            finish(
                .hang, endedAt: nil,
                note: "the client closed the connection\(seconds.map { " \($0) s after the request" } ?? ""), "
                    + "before the response was complete; the recording stops there")
        }
        // A complete exchange waits for its grace timer: the upstream may still close.
        if exchange == nil { upstream?.close(promise: nil) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Forwards queued request parts while the state allows.
    private func pump() {
        while let part = queue.first {
            switch part {
            case .head(let head):
                if let current = exchange {
                    // The upstream kept the connection: the previous exchange ended cleanly.
                    guard current.complete else { return }
                    finish(.clean, endedAt: nil, note: nil)
                }
                if let connectFailure {
                    failRequest(connectFailure)
                    return
                }
                guard let upstream, upstream.isActive else {
                    if !connecting { connectUpstream() }
                    return
                }
                queue.removeFirst()
                begin(head, upstream: upstream)
            case .body(let buffer):
                queue.removeFirst()
                exchange?.request.body += buffer.readableBytesView
                upstream?.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
            case .end(let trailers):
                queue.removeFirst()
                upstream?.writeAndFlush(HTTPClientRequestPart.end(trailers), promise: nil)
                // The upstream channel is on this loop, so the write above has passed the stamp already: the clock
                // starts just before the request's last bytes went out, never after (see `UpstreamWriteStamp`).
                if exchange != nil && exchange?.start == nil { exchange?.start = lastUpstreamBytesAt ?? .now() }
            }
        }
    }

    private func begin(_ head: HTTPRequestHead, upstream: any Channel) {
        var forwarded = head
        if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            // The recorder answers the interim response itself, so the upstream's response stays one response.
            forwarded.headers.remove(name: "expect")
            writeToClient(ByteBuffer(bytes: HTTPWire.continueResponse))
        }
        sink.begin()
        lastUpstreamBytesAt = nil
        exchange = Exchange(
            request: RecordedRequest(
                method: head.method.rawValue, uri: head.uri,
                headers: head.headers.map { HeaderField($0.name, $0.value) }),
            date: Date(),
            decoder: ResponseDecoder(requestMethod: head.method.rawValue))
        upstream.writeAndFlush(HTTPClientRequestPart.head(forwarded), promise: nil)
    }

    /// Answers the client with the OpenAI error envelope and closes: nothing is recorded.
    private func failRequest(_ message: String) {
        queue.removeAll()
        let body = OpenAIError(message: message, type: "upstream_unreachable", code: 502).json
        writeToClient(
            ByteBuffer(
                bytes: HTTPWire.response(
                    status: 502, contentType: "application/json", body: Array(body.utf8), close: true)))
        closeClient(reset: false)
    }

    private func writeToClient(_ buffer: ByteBuffer) {
        guard let context, !clientClosed else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        lastClientWrite = promise.futureResult
    }

    private func closeClient(reset: Bool) {
        guard let context, !clientClosed else { return }
        let channel = context.channel
        let written = lastClientWrite ?? context.eventLoop.makeSucceededVoidFuture()
        written.assumeIsolated().whenComplete { _ in
            guard reset, let socket = channel as? any SocketOptionProvider else {
                channel.close(promise: nil)
                return
            }
            socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    // MARK: Upstream side

    private func connectUpstream() {
        guard let context else { return }
        connecting = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let target = configuration.upstream
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .channelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 65536, maximum: 1 << 20)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UpstreamWriteStamp { time in loopBound.value.lastUpstreamBytesAt = time })
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                    try channel.pipeline.syncOperations.addHandler(UpstreamReadHandler(session: loopBound))
                }
            }
            .connect(host: target.host, port: target.port)
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let session = loopBound.value
                session.connecting = false
                switch result {
                case .success(let channel):
                    session.upstream = channel
                    if session.clientClosed {
                        channel.close(promise: nil)
                        return
                    }
                    channel.read()
                    session.pump()
                case .failure(let error):
                    session.connectFailure =
                        "harness record: cannot connect to the upstream \(target): \(error); is it running?"
                    session.pump()
                }
            }
    }

    func upstreamRead(_ buffer: ByteBuffer, at time: NIODeadline) {
        writeToClient(buffer)
        // Bytes after a complete response (a too-short Content-Length) still belong to this exchange until it is
        // settled: the client got them, so the replay must send them too.
        guard var current = exchange else {
            logger.debug("upstream bytes outside an exchange", metadata: ["bytes": "\(buffer.readableBytes)"])
            return
        }
        let start = current.start ?? time
        current.start = start
        let bytes = Array(buffer.readableBytesView)
        current.reads.append(
            RecordedRead(
                offset: .nanoseconds(Int64(time.uptimeNanoseconds) - Int64(start.uptimeNanoseconds)), bytes: bytes))
        if !current.complete { current.decoder.feed(bytes) }
        if !current.complete, current.decoder.isComplete, let context {
            current.complete = true
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            current.graceTimer = context.eventLoop.scheduleTask(in: TimeAmount(configuration.closeGrace)) {
                loopBound.value.graceExpired()
            }
        }
        exchange = current
    }

    func upstreamReadComplete() {
        if let context, context.channel.isWritable {
            upstream?.read()
        } else {
            readPending = true
        }
    }

    func upstreamError(_ error: any Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET { upstreamReset = true }
        logger.debug("upstream connection error", metadata: ["error": "\(error)"])
    }

    func upstreamClosed() {
        upstream = nil
        if let current = exchange {
            let now = NIODeadline.now()
            let start = current.start ?? now
            let endedAt = Duration.nanoseconds(Int64(now.uptimeNanoseconds) - Int64(start.uptimeNanoseconds))
            let ending: Ending
            if upstreamReset {
                ending = .rst
            } else if current.complete || current.decoder.framing == .untilClose || current.decoder.problem != nil {
                // A close-delimited body (or one whose framing could not be read) ends with the connection.
                ending = .close
            } else {
                ending = .fin
            }
            finish(ending, endedAt: endedAt, note: nil)
        }
        closeClient(reset: upstreamReset)
    }

    private func graceExpired() {
        guard exchange?.complete == true else { return }
        finish(.clean, endedAt: nil, note: nil)
        if clientClosed { upstream?.close(promise: nil) }
        pump()
    }

    /// Hands the exchange to the sink and forgets it.
    private func finish(_ ending: Ending, endedAt: Duration?, note: String?) {
        guard let current = exchange else { return }
        current.graceTimer?.cancel()
        current.decoder.close()
        exchange = nil
        sink.record(
            RecordedExchange(
                request: current.request, reads: current.reads, ending: ending, endedAt: endedAt, note: note,
                upstream: configuration.upstream.description, date: current.date))
    }
}

/// The upstream channel's end of `RecordingSession`: timestamps each read as it arrives and reports it.
final class UpstreamReadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: NIOLoopBound<RecordingSession>

    init(session: NIOLoopBound<RecordingSession>) {
        self.session = session
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let time = NIODeadline.now()
        session.value.upstreamRead(unwrapInboundIn(data), at: time)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session.value.upstreamReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.value.upstreamError(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.value.upstreamClosed()
    }
}
