import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// One client connection: reads each request whole, asks the router what to do, and owns every byte written back.
///
/// HTTP hygiene lives here too: a request that asks for it (`Connection: close`, HTTP/1.0, an upgrade, `CONNECT`)
/// gets `Connection: close` on its response and the connection closes once the response's end is written, whoever
/// wrote it (an admin answer, an error, the relay); a body over ``ClientLimits/maxRequestBodySize`` is refused with
/// `413` before it is buffered. HTTP/1.0 clients get HTTP/1.0 responses: NIO's encoder then frames a body of
/// unknown length by the close instead of chunking it, which an HTTP/1.0 client could not read.
///
/// This handler is the single writer of its connection. A relayed request's ``RequestRelay`` writes through it
/// (``ClientWriter``), on this connection's event loop; nothing else writes here.
///
/// It also holds pipelined requests back: parts (and a decoder error) that arrive while a response is under way wait
/// in order until it has ended, and reading stops meanwhile, so a pipelining client buffers at most one read here.
/// (NIO's `HTTPServerPipelineHandler` did this by pausing reads during every response: two `epoll_ctl` calls per
/// request for every client, where this costs nothing unless a client actually pipelines.)
final class ProxyConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, ClientWriter {
    typealias InboundIn = HTTPServerRequestPart
    /// Nothing writes through it from behind (it is the last handler); it is outbound only to hold back `read()`.
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(head: HTTPRequestHead, body: ByteBuffer, arrival: NIODeadline)
        /// The request was refused before its end (413); the rest of it is ignored until the close.
        case refusing
        case responding
        /// The last response ended and the connection is closing: nothing more is read.
        case closing
    }

    let router: ProxyRouter
    private let connector: any UpstreamConnector
    /// Replaces the router's provider as the source of leases (tests that drive time on an `EmbeddedEventLoop`);
    /// `nil` in production.
    private let leases: (any LeaseRequester)?
    let logger: Logger
    private let tracker: ConnectionTracker
    /// Bodies larger than this are refused with 413 (the proxy reads bodies whole to find the model).
    private let maxRequestBodySize: Int
    /// The decoder's limits, named in the answer to a head that broke them.
    private let limits: ClientLimits
    /// A response head was written and its end was not: a decoder error then only closes (no second response).
    private var responseUnterminated = false
    /// Where large bodies are scanned (``sniffOffThreshold``); `nil` scans every body on the loop (tests that drive
    /// an `EmbeddedEventLoop`).
    private let sniffPool: NIOThreadPool?
    private var state = State.idle
    /// The current response must end with `Connection: close` and the close.
    private var closeAfterResponse = false
    /// The current request asks to switch protocols (a WebSocket): a `101` from the upstream makes a tunnel.
    private var upgradeRequested = false
    /// The current request is HTTP/1.0: its response is written as HTTP/1.0.
    private var answerAsHTTP10 = false
    /// A response's end is being written: what arrives meanwhile waits for ``responseCompleted()``.
    private var writingEnd = false
    /// What arrived while a response was under way, in order: the next requests' parts, a decoder error.
    private enum Deferred {
        case part(HTTPServerRequestPart)
        case malformed(HTTPParserError)
    }
    private var deferred: [Deferred] = []
    /// A `read()` was held back because something waits in `deferred`; it goes on once nothing does.
    private var readHeldBack = false
    private var context: ChannelHandlerContext?
    private var relay: RequestRelay?
    /// The upstream time bounds' timer, shared by this connection's requests (``SharedBoundTimer``: no timer is
    /// scheduled and cancelled per request); stopped when the connection goes.
    private var boundTimer: SharedBoundTimer?
    private var backgroundTask: Task<Void, Never>?
    /// A request was dispatched and its response has not ended; counted once in the tracker.
    private var requestInFlight = false
    /// What the current request did so far (metrics and the access log), from its head to its end.
    var requestStats: RequestStats?

    /// `connector` and `leases` are the relay's seams for tests that drive its clock (see ``UpstreamConnector``);
    /// production passes neither. `limits` defaults to the router's config.
    init(
        router: ProxyRouter,
        tracker: ConnectionTracker,
        logger: Logger,
        connector: any UpstreamConnector = PooledUpstreamConnector(),
        leases: (any LeaseRequester)? = nil,
        limits: ClientLimits? = nil,
        sniffPool: NIOThreadPool? = nil
    ) {
        self.limits = limits ?? router.config.clientLimits
        self.maxRequestBodySize = self.limits.maxRequestBodySize
        self.sniffPool = sniffPool
        self.router = router
        self.connector = connector
        self.leases = leases
        self.tracker = tracker
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        boundTimer = SharedBoundTimer(eventLoop: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        boundTimer?.stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if mustWait {
            deferred.append(.part(part))  // reading stops until the queue is drained: ``read(context:)``
            return
        }
        handle(part, context: context)
    }

    /// A response is under way (or others wait already): what arrives now belongs after it.
    private var mustWait: Bool {
        if writingEnd || !deferred.isEmpty { return true }
        if case .responding = state { return true }
        return false
    }

    /// The channel asks for more bytes (with `autoRead`, after every read): not while requests wait.
    func read(context: ChannelHandlerContext) {
        if deferred.isEmpty {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        // Not inside the switch below: the tuple it switches over holds a second reference to the body buffer, and
        // every append would then copy the whole body (a 32 MB body cost seconds).
        if case .body(var chunk) = part, case .receiving = state {
            appendBody(&chunk)
            return
        }
        switch (part, state) {
        case (.head(let head), .idle):
            let isHTTP10 = head.version.major == 1 && head.version.minor == 0
            let endsHTTP = Self.endsHTTP(head)
            closeAfterResponse = !head.isKeepAlive || isHTTP10 || endsHTTP
            upgradeRequested = endsHTTP && head.method != .CONNECT
            answerAsHTTP10 = isHTTP10
            requestStats = RequestStats(head: head, arrival: context.eventLoop.now)
            if let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }),
                declared > maxRequestBodySize
            {
                state = .refusing
                let message = "request body of \(declared) bytes is larger than \(maxRequestBodySize) bytes"
                respond(.error(413, message + " (maxRequestBodySize)"), close: true)
                return
            }
            // The event loop's clock, which the relay's timers use too (and a test can drive).
            state = .receiving(
                head: head, body: context.channel.allocator.buffer(capacity: 0), arrival: context.eventLoop.now)
        case (.body, .receiving):
            break  // appended above
        case (.end, .receiving(let head, let body, let arrival)):
            state = .responding
            let request = ProxyRequest(head: head, body: body, arrival: arrival)
            if body.readableBytes >= Self.sniffOffThreshold, let pool = sniffPool {
                sniffOffTheLoop(request, pool: pool, context: context)
            } else {
                dispatch(request)
            }
        case (_, .refusing), (_, .closing):
            break
        default:
            logger.debug("unexpected request part; closing")
            context.close(promise: nil)
        }
    }

    /// Appends a read of the body to the request's one buffer, in place. The first read reserves the declared
    /// `Content-Length` (already checked against ``ClientLimits/maxRequestBodySize``), so the buffer is allocated
    /// once at its final size; a chunked body grows by doubling.
    private func appendBody(_ chunk: inout ByteBuffer) {
        guard case .receiving(let head, var body, let arrival) = state else { return }
        state = .idle  // `body` is now the buffer's only reference: writing to it does not copy it
        if body.readableBytes + chunk.readableBytes > maxRequestBodySize {
            state = .refusing
            let message = "request body larger than \(maxRequestBodySize) bytes (maxRequestBodySize)"
            respond(.error(413, message), close: true)
            return
        }
        if body.readableBytes == 0, let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }),
            declared > body.capacity
        {
            body.reserveCapacity(declared)
        }
        body.writeBuffer(&chunk)
        state = .receiving(head: head, body: body, arrival: arrival)
    }

    /// Bodies this large are scanned for `model` and `stream` on a thread pool, not on the event loop: scanning
    /// 32 MB takes about 20 ms, which would delay every other connection's heartbeats on this loop by as much.
    static let sniffOffThreshold = 1 << 20

    /// Scans `request`'s body on `pool`, then dispatches it here with the answer (unless the client left meanwhile).
    private func sniffOffTheLoop(_ request: ProxyRequest, pool: NIOThreadPool, context: ChannelHandlerContext) {
        let contentType = request.head.headers.first(name: "content-type")
        let query = request.query
        let body = request.body
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        markInFlight()  // while it is scanned, too
        pool.runIfActive(eventLoop: context.eventLoop) {
            RequestSniffer.sniff(body: body, contentType: contentType, query: query)
        }.whenComplete { result in
            let handler = bound.value
            guard case .responding = handler.state, handler.context != nil else { return }
            var request = request
            request.sniffed = try? result.get()
            handler.dispatch(request)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Requests held back never start: the client is gone.
        state = .closing
        deferred = []
        relay?.clientClosed()
        reportRequest(heartbeats: relay?.heartbeatStats, clientGone: true, at: context.eventLoop.now)
        relay = nil
        boundTimer?.stop()
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
        if let parserError = error as? HTTPParserError {
            // Bytes after a request whose answer is under way: the error's turn comes after that answer.
            if mustWait {
                deferred.append(.malformed(parserError))
            } else {
                answerMalformedRequest(parserError, context: context)
            }
            return
        }
        logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// NIO's decoder rejected what the client sent (pipelined bytes reach here only after the response before them
    /// ended: ``errorCaught(context:error:)`` holds their error back): `400` or `431` in the OpenAI envelope with
    /// `Connection: close`, then the close. A response under way cannot be followed by another, and a closed
    /// connection (the decoder reports a head cut short by the close as an error too) takes no answer.
    private func answerMalformedRequest(_ error: HTTPParserError, context: ChannelHandlerContext) {
        guard !responseUnterminated, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        ClosingErrorResponse.write(ClientProtocolErrorAnswer.answer(to: error, limits: limits), to: context)
    }

    // MARK: Dispatch

    private func dispatch(_ request: ProxyRequest) {
        markInFlight()
        switch router.decide(request) {
        case .relay(var settings):
            guard let context else { return }
            if upgradeRequested { settings.upgrade = request.head.headers.first(name: "upgrade") }
            let relay = RequestRelay(
                eventLoop: context.eventLoop,
                request: withRequestID(request),
                settings: settings,
                leases: leases
                    ?? ProviderLeaseRequester(
                        provider: router.provider, eventLoop: context.eventLoop, pinned: settings.snapshot),
                connector: connector,
                writer: self,
                logger: logger,
                requestID: requestStats?.id,
                rewritePool: sniffPool,
                boundTimer: boundTimer
            )
            self.relay = relay
            relayStarted(model: settings.requestedModel)
            activityStarted(request, settings: settings, eventLoop: context.eventLoop)
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
        if close { closeAfterResponse = true }
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
        let status = HTTPResponseStatus(statusCode: response.status)
        write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        if !response.body.isEmpty { write(.body(.byteBuffer(ByteBuffer(string: response.body)))) }
        write(.end(nil))
        responseCompleted()
    }

    /// Whether NIO's decoder stops reading HTTP after this request: llhttp treats `CONNECT` and a request with an
    /// `Upgrade` header and an `upgrade` token in `Connection` as the switch to another protocol, and the decoder
    /// ignores every byte after it. An upgrade the upstream accepts (`101`) becomes a tunnel
    /// (``switchProtocols(_:upstream:onClose:)``); any other answer ends with the close.
    static func endsHTTP(_ head: HTTPRequestHead) -> Bool {
        if head.method == .CONNECT { return true }
        guard head.headers.contains(name: "upgrade") else { return false }
        return head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
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

    /// Every response part of this connection passes here: the head gets `Connection: close` when the connection
    /// ends after this response (and HTTP/1.0's version for an HTTP/1.0 request), and the close follows the end
    /// once it is written.
    func write(_ part: HTTPServerResponsePart, flush: Bool) {
        guard let context else { return }
        var part = part
        recordWrite(&part, at: context.eventLoop.now)
        switch part {
        case .head(let head) where head.status.code >= 200 || head.status.code == 101:
            responseUnterminated = true
        case .end:
            responseUnterminated = false
        case .head, .body:
            break
        }
        switch part {
        case .head(var head):
            if closeAfterResponse { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            if answerAsHTTP10 {
                head.version = .http1_0
                head.headers.remove(name: "transfer-encoding")
            }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if flush { context.flush() }
        case .body:
            context.write(wrapOutboundOut(part), promise: nil)
            if flush { context.flush() }
        case .end where closeAfterResponse:
            writingEnd = true
            defer { writingEnd = false }
            let bound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(part)).assumeIsolated().whenComplete { _ in
                bound.value.close(promise: nil)
            }
        case .end:
            writingEnd = true
            defer { writingEnd = false }
            context.writeAndFlush(wrapOutboundOut(part), promise: nil)
        }
    }

    func flush() {
        context?.flush()
    }

    /// The upstream accepted the upgrade: the `101` goes out, the request is reported (status 101, its time until
    /// the switch), and on the next tick — outside the upstream decoder's read that brought the `101` — both
    /// pipelines drop their HTTP handlers for the two ends of a ``TunnelHandler``. The bytes the upstream sent after
    /// its `101` wait in its decoder and are forwarded to the tunnel when the decoder leaves; a client must wait for
    /// the `101` before it sends (RFC 6455 §4.1). No timeout applies to the tunnel, as in llama-swap.
    func switchProtocols(_ head: HTTPResponseHead, upstream: any Channel, onClose: @escaping () -> Void) {
        guard let context, context.channel.isActive else {
            upstream.close(promise: nil)
            onClose()
            return
        }
        var part = HTTPServerResponsePart.head(head)
        recordWrite(&part, at: context.eventLoop.now)
        context.writeAndFlush(wrapOutboundOut(part), promise: nil)
        reportRequest(heartbeats: relay?.heartbeatStats, clientGone: false, at: context.eventLoop.now)
        relay = nil
        state = .closing
        deferred = []
        finishRequest()
        let client = context.channel
        let (clientEnd, upstreamEnd) = TunnelHandler.pair(onClose: onClose)
        let logger = self.logger
        context.eventLoop.assumeIsolated().execute {
            do {
                let up = upstream.pipeline.syncOperations
                try up.addHandler(upstreamEnd, position: .last)
                let clientPipeline = client.pipeline.syncOperations
                try clientPipeline.addHandler(clientEnd, position: .last)
                // Every HTTP handler of both sides goes before any byte moves, each decoder last on its side: a
                // decoder hands its leftover bytes to the tunnel as it leaves, and they must meet plain pipelines.
                try clientPipeline.removeHandler(clientPipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
                try clientPipeline.removeHandler(clientPipeline.handler(type: ClientTimeoutHandler.self), promise: nil)
                try clientPipeline.removeHandler(clientPipeline.handler(type: ClientByteTap.self), promise: nil)
                try clientPipeline.removeHandler(clientPipeline.handler(type: ProxyConnectionHandler.self), promise: nil)
                try up.removeHandler(up.handler(type: HTTPRequestEncoder.self), promise: nil)
                try up.removeHandler(up.handler(type: UpstreamResponseHandler.self), promise: nil)
                try up.removeHandler(up.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self), promise: nil)
                try clientPipeline.removeHandler(clientPipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
                if !client.isActive || !upstream.isActive { clientEnd.closeBoth() }
                // Reading may have been paused for backpressure on either side; the tunnel paces it from now on.
                try? upstream.syncOptions?.setOption(.autoRead, value: true)
                try? client.syncOptions?.setOption(.autoRead, value: true)
                upstream.read()
                client.read()
            } catch {
                logger.debug("switching protocols failed", metadata: ["error": "\(error)"])
                clientEnd.closeBoth()
                upstream.close(promise: nil)
                client.close(promise: nil)
            }
        }
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func closeConnection() {
        // Parts written without a flush go out before the close (a truncated body shows as truncated, not empty).
        context?.flush()
        context?.close(promise: nil)
    }

    func responseCompleted() {
        reportRequest(heartbeats: relay?.heartbeatStats, clientGone: false, at: context?.eventLoop.now ?? .now())
        relay = nil
        backgroundTask = nil
        if closeAfterResponse {
            state = .closing
        } else if case .responding = state {
            state = .idle
        }
        finishRequest()
        // What waited, in order, until a request starts its response (an answer that ends at once comes back here
        // and goes on with the rest); reading resumes once nothing waits.
        while let context, !writingEnd, !deferred.isEmpty {
            if case .responding = state { return }
            switch deferred.removeFirst() {
            case .part(let part): handle(part, context: context)
            case .malformed(let error): answerMalformedRequest(error, context: context)
            }
        }
        if deferred.isEmpty, readHeldBack, let context {
            readHeldBack = false
            context.read()
        }
    }

    /// Counts the request in flight (once), from its end on: a graceful shutdown waits for it from then.
    private func markInFlight() {
        guard !requestInFlight else { return }
        requestInFlight = true
        tracker.requestStarted()
    }

    private func finishRequest() {
        guard requestInFlight else { return }
        requestInFlight = false
        tracker.requestFinished()
    }
}
