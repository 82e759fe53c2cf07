import Logging
import NIOCore
import NIOHTTP1

/// One client connection: reads each request whole, asks the router what to do, and owns every byte written back.
///
/// This handler is the single writer of its connection. A relayed request's ``RequestRelay`` writes through it
/// (``ClientWriter``), on this connection's event loop; nothing else writes here. `HTTPServerPipelineHandler` in
/// front of it holds pipelined requests back until the current response has ended.
final class ProxyConnectionHandler: ChannelInboundHandler, ClientWriter {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies larger than this are refused with 413 (the proxy reads bodies whole to find the model).
    static let maximumBodySize = 256 * 1024 * 1024

    private enum State {
        case idle
        case receiving(head: HTTPRequestHead, body: ByteBuffer, arrival: NIODeadline)
        case refusing
        case responding
    }

    private let router: ProxyRouter
    private let connector: any UpstreamConnector
    /// Replaces the router's provider as the source of leases (tests that drive time on an `EmbeddedEventLoop`);
    /// `nil` in production.
    private let leases: (any LeaseRequester)?
    private let logger: Logger
    private let tracker: ConnectionTracker
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var relay: RequestRelay?
    private var backgroundTask: Task<Void, Never>?
    /// A request was dispatched and its response has not ended; counted once in the tracker.
    private var requestInFlight = false

    /// `connector` and `leases` are the relay's seams for tests that drive its clock (see ``UpstreamConnector``);
    /// production passes neither.
    init(
        router: ProxyRouter,
        tracker: ConnectionTracker,
        logger: Logger,
        connector: any UpstreamConnector = BootstrapUpstreamConnector(),
        leases: (any LeaseRequester)? = nil
    ) {
        self.router = router
        self.connector = connector
        self.leases = leases
        self.tracker = tracker
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            // The event loop's clock, which the relay's timers use too (and a test can drive).
            state = .receiving(
                head: head, body: context.channel.allocator.buffer(capacity: 0), arrival: context.eventLoop.now)
        case (.body(var chunk), .receiving(let head, var body, let arrival)):
            if body.readableBytes + chunk.readableBytes > Self.maximumBodySize {
                state = .refusing
                respond(.error(413, "request body larger than \(Self.maximumBodySize) bytes"), close: true)
                return
            }
            state = .idle  // drop the reference while appending, so the buffer is not copied
            body.writeBuffer(&chunk)
            state = .receiving(head: head, body: body, arrival: arrival)
        case (.end, .receiving(let head, let body, let arrival)):
            state = .responding
            dispatch(ProxyRequest(head: head, body: body, arrival: arrival))
        case (_, .refusing):
            break
        default:
            logger.debug("unexpected request part; closing")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        relay?.clientClosed()
        relay = nil
        backgroundTask?.cancel()
        backgroundTask = nil
        finishRequest()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        relay?.clientWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Dispatch

    private func dispatch(_ request: ProxyRequest) {
        requestInFlight = true
        tracker.requestStarted()
        switch router.decide(request) {
        case .relay(let settings):
            guard let context else { return }
            let relay = RequestRelay(
                eventLoop: context.eventLoop,
                request: request,
                settings: settings,
                leases: leases
                    ?? ProviderLeaseRequester(
                        provider: router.provider, eventLoop: context.eventLoop, pinned: settings.snapshot),
                connector: connector,
                writer: self,
                logger: logger
            )
            self.relay = relay
            relay.start()
        case .respond(let response):
            respond(response, close: false)
        case .respondLater(let produce):
            guard let context else { return }
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            backgroundTask = Task {
                let response = await produce()
                loop.execute { bound.value.respond(response, close: false) }
            }
        case .followLogs(let backlog, let live):
            followLogs(backlog: backlog, live: live)
        }
    }

    private func respond(_ response: SimpleResponse, close: Bool) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
        if close { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        if !response.body.isEmpty { write(.body(.byteBuffer(ByteBuffer(string: response.body)))) }
        write(.end(nil))
        responseCompleted()
        if close { context?.close(promise: nil) }
    }

    private func followLogs(backlog: [String], live: AsyncStream<String>) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "X-Accel-Buffering", value: "no")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
        let text = backlog.map { $0 + "\n" }.joined()
        if !text.isEmpty { write(.body(.byteBuffer(ByteBuffer(string: text)))) }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        backgroundTask = Task {
            for await line in live {
                loop.execute { bound.value.write(.body(.byteBuffer(ByteBuffer(string: line + "\n")))) }
            }
            // The log source ended the stream (shutdown): end the chunked body cleanly. A cancelled task means the
            // client left; then there is nothing to end.
            guard !Task.isCancelled else { return }
            loop.execute { bound.value.endLogStream() }
        }
    }

    private func endLogStream() {
        guard context != nil, case .responding = state else { return }
        write(.end(nil))
        responseCompleted()
    }

    // MARK: ClientWriter

    func write(_ part: HTTPServerResponsePart) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(part), promise: nil)
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func closeConnection() {
        context?.close(promise: nil)
    }

    func responseCompleted() {
        relay = nil
        backgroundTask = nil
        state = .idle
        finishRequest()
    }

    private func finishRequest() {
        guard requestInFlight else { return }
        requestInFlight = false
        tracker.requestFinished()
    }
}
