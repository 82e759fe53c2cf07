import DurationMath
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The path of one proxied request, from the client's request to the end of its response: acquire an upstream
/// (queue, start, swap), forward the request, relay the answer, and — for streaming requests — fill silences with
/// heartbeats as ``HeartbeatPolicy`` decides.
///
/// Confined to the client connection's event loop: the upstream connection, the timers and the client writes all
/// run there, so the relay is the single writer of its response and needs no lock. Work that happens elsewhere (the
/// supervisor's async `acquire`) comes back through the ``LeaseRequester`` on the loop.
///
/// Its clock is the event loop's (`eventLoop.now`, with the request's arrival read from the same clock), and its
/// upstream connection comes from an ``UpstreamConnector``: on an `EmbeddedEventLoop` a test drives time with
/// `advanceTime` and plays the upstream through an `EmbeddedChannel`, so every timing rule is asserted exactly
/// through this code, not a copy of it.
final class RequestRelay: BoundTimerOwner {
    private let eventLoop: any EventLoop
    private var request: ProxyRequest
    private let settings: RelaySettings
    private let leases: any LeaseRequester
    private let connector: any UpstreamConnector
    private let writer: any ClientWriter
    /// The connection's logger; every line about this request adds `request` (its id) when it is written, so a
    /// request whose lines are below the log level costs no metadata (it cost 3 % of a small request's CPU).
    private let logger: Logger
    private let requestID: String?
    /// Where a large body is edited (`useModelName`, `filters`) off the event loop; `nil`: on it.
    private let rewritePool: NIOThreadPool?

    private var policy: HeartbeatPolicy
    private var tracker = SSEBoundaryTracker()
    private var timer: NIOScheduledCallback?
    /// The upstream time bounds' timer (``UpstreamTimeBounds``): the connection's, shared by its requests.
    private let boundTimer: SharedBoundTimer
    /// The bound timer was made for this relay alone (no connection gave one): stopped at the end.
    private let ownsBoundTimer: Bool
    /// The upstream connection reported a reset (ECONNRESET) before it closed: a break is a "reset", not a "close".
    private var upstreamWasReset = false
    /// Reading from the upstream is paused because the client's socket is full (backpressure).
    private var upstreamReadingPaused = false
    /// The upstream's head arrived (the break of a stream after it is reported with its event count).
    private var upstreamHeadSeen = false
    /// Abandons the lease request while it is pending.
    private var cancelLeaseRequest: (() -> Void)?
    private var lease: UpstreamLease?
    private var upstream: (any Channel)?
    /// Bytes of an upstream error body collected after the proxy committed `200` (bounded).
    private var collectedErrorBody: [UInt8]?
    /// The client received a response head (ours or the upstream's).
    private var clientHeadSent = false
    /// The proxy wrote loading-state events (`sendLoadingState`).
    private var loadingEventsSent = 0
    private var done = false
    /// An upstream part is being handled (its writes wait for the read's end to be flushed).
    private var inUpstreamRead = false
    /// Parts were written to the client without a flush.
    private var unflushed = false

    // Connection reuse (``UpstreamPool``; rules in ``UpstreamExchange``): set when the connector pools.
    private var pool: UpstreamPool?
    private var poolKey: UpstreamPoolKey?
    private var upstreamHandler: UpstreamResponseHandler?
    private var exchange = UpstreamExchange(reused: false)
    /// The request as sent on a reused connection, kept until its last byte is written: the one retry needs it.
    private var retryBody: [ByteBuffer]?
    /// The one retry on a fresh connection was made.
    private var retried = false
    /// The activity record was told the request was sent.
    private var requestSentObserved = false

    init(
        eventLoop: any EventLoop,
        request: ProxyRequest,
        settings: RelaySettings,
        leases: any LeaseRequester,
        connector: any UpstreamConnector,
        writer: any ClientWriter,
        logger: Logger,
        requestID: String? = nil,
        rewritePool: NIOThreadPool? = nil,
        boundTimer: SharedBoundTimer? = nil
    ) {
        self.boundTimer = boundTimer ?? SharedBoundTimer(eventLoop: eventLoop)
        self.ownsBoundTimer = boundTimer == nil
        self.requestID = requestID
        self.eventLoop = eventLoop
        self.rewritePool = rewritePool
        self.request = request
        self.settings = settings
        self.leases = leases
        self.connector = connector
        self.writer = writer
        self.logger = logger
        self.policy = HeartbeatPolicy(
            interval: settings.heartbeatInterval ?? .zero,
            isStreamingRequest: settings.stream,
            bounds: UpstreamTimeBounds(
                responseHeaderTimeout: settings.responseHeaderTimeout,
                streamIdleTimeout: settings.streamIdleTimeout
            )
        )
    }

    /// Time since the request arrived, on the event loop's clock: the policy's clock.
    private var now: Duration {
        .nanoseconds(Int64(eventLoop.now.uptimeNanoseconds) - Int64(request.arrival.uptimeNanoseconds))
    }

    /// What the heartbeat policy did so far (the connection reports it when the request ends).
    var heartbeatStats: HeartbeatStats { policy.stats }

    // MARK: Start

    /// Starts the heartbeat clock and asks for an upstream lease (answered on this loop).
    func start() {
        eventLoop.preconditionInEventLoop()
        perform(policy.start(now: now))
        var answered = false
        // A peer's model is leased at once (nothing to start); every other model through the supervisor.
        let leases = settings.peer.map { PeerLeaseRequester(target: $0) as any LeaseRequester } ?? self.leases
        // Strong captures, on purpose: an object ever referenced weakly gets a side table, and then every retain and
        // release of it takes the runtime's slow path — the relay is retained on every upstream read (3 % of a
        // stream's CPU). The wait holds the relay only until it is answered or cancelled (``complete`` cancels it),
        // and a lease that arrives after the end is released at once (``leaseAcquired``).
        let cancel = leases.requestLease(
            model: settings.requestedModel,
            progress: { progress in self.loadingProgress(progress) },
            completion: { result in
                answered = true
                switch result {
                case .success(let lease): self.leaseAcquired(lease)
                case .failure(let error): self.acquireFailed(error)
                }
            }
        )
        if !answered { cancelLeaseRequest = cancel }
    }

    private func leaseAcquired(_ lease: UpstreamLease) {
        cancelLeaseRequest = nil
        guard !done else {
            lease.release()
            return
        }
        self.lease = lease
        connect(to: lease.upstream, forwardedModelName: lease.forwardedModelName)
    }

    private func acquireFailed(_ error: UpstreamAcquireError) {
        cancelLeaseRequest = nil
        guard !done else { return }
        debug("no upstream", ["error": "\(error.openAIError.message)"])
        if case .overConcurrencyLimit(_, _, let retryAfter) = error, !clientHeadSent {
            finishWithError(error.openAIError, extraHeaders: [("Retry-After", "\(retryAfter)")])
            return
        }
        perform(policy.upstreamFailed(error.openAIError, now: now))
    }

    // MARK: Loading state

    private func loadingProgress(_ progress: LoadingProgress) {
        guard !done, settings.sendLoadingState, settings.stream, upstream == nil else { return }
        if !clientHeadSent {
            writeCommittedHead()
            perform(policy.loadingStateCommitted(now: now))
        }
        let bytes = LoadingStateEvent.bytes(model: progress.modelID, message: progress.message, index: loadingEventsSent)
        loadingEventsSent += 1
        writeBody(bytes)
        perform(policy.clientBytesSent(count: bytes.count, now: now))
    }

    // MARK: Upstream connection

    private func connect(to target: UpstreamURL, forwardedModelName: String?) {
        if let pooled = connector as? PooledUpstreamConnector {
            let pool = pooled.pools.pool(for: eventLoop)
            let key = UpstreamPoolKey(model: lease?.modelID ?? settings.requestedModel, upstream: target)
            self.pool = pool
            poolKey = key
            if !retried, let (channel, handler, served) = pool.take(key) {
                handler.relay = self
                upstreamHandler = handler
                exchange = UpstreamExchange(reused: true, earlierRequests: served)
                upstreamConnected(channel, target: target, forwardedModelName: forwardedModelName)
                return
            }
        }
        exchange = UpstreamExchange(reused: false)
        let handler = NIOLoopBound(UpstreamResponseHandler(relay: self), eventLoop: eventLoop)
        upstreamHandler = handler.value
        // NIO's outbound header check is left out for a local upstream: every field of the request came through
        // NIO's parser (which refuses CR, LF and bad name bytes) or is one of ours, and the check cost about 1 µs a
        // request. A peer's request also carries its configured API key, so it keeps the check.
        let validateHeaders = settings.peer != nil
        connector.connect(to: target, on: eventLoop) { channel in
            channel.eventLoop.makeCompletedFuture {
                // Bytes the upstream sends right after a `101` (a WebSocket's first frame) reach the tunnel.
                try channel.pipeline.syncOperations.addHTTPClientHandlers(
                    leftOverBytesStrategy: .forwardBytes, enableOutboundHeaderValidation: validateHeaders)
                try channel.pipeline.syncOperations.addHandler(handler.value)
            }
        }
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.upstreamConnected(channel, target: target, forwardedModelName: forwardedModelName)
                case .failure(let error):
                    self.upstreamConnectFailed(error)
                }
            }
    }

    private func upstreamConnected(_ channel: any Channel, target: UpstreamURL, forwardedModelName: String?) {
        guard !done else {
            channel.close(promise: nil)
            return
        }
        upstream = channel
        if retried, let body = retryBody {
            sendRequest(on: channel, target: target, body: body)
            return
        }
        if settings.passthrough {
            sendRequest(on: channel, target: target, body: [request.body])
            return
        }
        // A multipart form gets only its `model` field renamed (llama-swap's form filter); any other body the JSON
        // edits (`useModelName`, filters), which leave a body that is not one JSON object alone.
        let newModel = forwardedModelName ?? settings.bodyModel
        let rewrite: @Sendable (ByteBuffer) -> [ByteBuffer]?
        if let newModel,
            let form = MultipartModelEdit(contentType: request.head.headers.first(name: "content-type"), model: newModel)
        {
            rewrite = { form.apply(to: $0) }
        } else {
            let edits = RequestBodyEdits(
                useModelName: newModel, filters: settings.filters, requestedID: settings.requestedModel)
            guard !edits.isEmpty else {
                sendRequest(on: channel, target: target, body: [request.body])
                return
            }
            rewrite = { edits.apply(to: $0) }
        }
        // Slices of the body around the changed bytes, never a copy. Scanning a large body takes long enough (about
        // 20 ms for 32 MB) to delay this loop's heartbeats, so it happens on the pool.
        let original = request.body
        guard original.readableBytes >= ProxyConnectionHandler.sniffOffThreshold, let rewritePool else {
            sendRequest(on: channel, target: target, body: rewrite(original) ?? [original])
            return
        }
        rewritePool.runIfActive(eventLoop: eventLoop) {
            rewrite(original) ?? [original]
        }.assumeIsolated().whenComplete { result in
            guard !self.done, self.upstream === channel else { return }
            self.sendRequest(on: channel, target: target, body: (try? result.get()) ?? [original])
        }
    }

    /// Writes the request (head, `body` in pieces, end) to the upstream.
    private func sendRequest(on channel: any Channel, target: UpstreamURL, body: [ByteBuffer]) {
        let bodyLength = body.reduce(0) { $0 + $1.readableBytes }
        var head = HTTPRequestHead(
            version: .http1_1,
            method: request.head.method,
            uri: target.basePath + settings.forwardURI
        )
        head.headers = HopByHopHeaders.removing(from: request.head.headers)
        if let upgrade = settings.upgrade {
            // The one hop-by-hop field a tunnel needs: the upstream must see what the client asks to switch to.
            head.headers.add(name: "Connection", value: "Upgrade")
            head.headers.add(name: "Upgrade", value: upgrade)
        }
        head.headers.remove(name: "content-length")
        head.headers.replaceOrAdd(name: "Host", value: target.hostHeader)
        settings.peer?.injectCredentials(into: &head.headers)
        if bodyLength > 0 || request.head.method == .POST || request.head.method == .PUT {
            head.headers.replaceOrAdd(name: "Content-Length", value: "\(bodyLength)")
        }
        // On a reused connection the body is kept until its last byte is written: the one case for a retry.
        retryBody = exchange.reused ? body : nil
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        for part in body where part.readableBytes > 0 {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil)
        }
        let written = eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
        written.futureResult.assumeIsolated().whenSuccess {
            guard self.upstream === channel else { return }
            self.exchange.requestWritten()
            self.retryBody = nil
        }
        // The activity timeline marks the request sent once; a retry's resend restarts only the header bound.
        if !requestSentObserved {
            requestSentObserved = true
            writer.observe(.requestSent)
        }
        request.body = ByteBuffer()  // sent: a long wait should not hold the body
        perform(policy.upstreamRequestSent(now: now))
    }

    private func upstreamConnectFailed(_ error: any Error) {
        guard !done else { return }
        let failure = UpstreamFailure.connectionRefused(model: settings.requestedModel, detail: "\(error)")
        perform(policy.upstreamFailed(failure.openAIError, now: now))
    }

    /// A response part from the upstream connection.
    func upstreamPart(_ part: HTTPClientResponsePart) {
        guard !done else { return }
        inUpstreamRead = true
        defer { inUpstreamRead = false }
        writer.observe(.upstreamPart(part))
        switch part {
        case .head(let head):
            if head.status == .switchingProtocols, settings.upgrade != nil {
                switchProtocols(head)
                return
            }
            guard head.status.code >= 200 else {  // 1xx interim answers are not forwarded
                exchange.responseBytesArrived()
                return
            }
            exchange.headArrived(
                status: Int(head.status.code),
                contentType: head.headers.first(name: "content-type"),
                keepAlive: UpstreamKeepAlive(
                    versionMajor: head.version.major, versionMinor: head.version.minor,
                    connection: head.headers["connection"], keepAlive: head.headers["keep-alive"]),
                framed: head.headers.contains(name: "content-length")
                    || head.headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
                    || head.status == .noContent || head.status == .notModified || request.head.method == .HEAD
            )
            pendingUpstreamHead = head
            upstreamHeadSeen = true
            perform(
                policy.upstreamHeadArrived(
                    status: Int(head.status.code),
                    contentType: head.headers.first(name: "content-type"),
                    now: now
                )
            )
        case .body(let buffer):
            if var collected = collectedErrorBody {
                let room = OpenAIError.upstreamErrorBodyLimit - collected.count
                if room > 0 { collected += buffer.readableBytesView.prefix(room) }
                collectedErrorBody = collected
                perform(policy.upstreamErrorBodyRead(byteCount: buffer.readableBytes, now: now))
                return
            }
            guard buffer.readableBytes > 0 else { return }
            let contentBefore = tracker.contentBytesConsumed
            // The pointer overload: the generic one goes through `ByteBufferView`'s protocol witnesses across
            // modules (unspecialized), which cost more than the scan itself.
            if settings.stream { buffer.withUnsafeReadableBytes { tracker.consume($0) } }
            emit(.body(.byteBuffer(buffer)))
            applyBackpressure()
            perform(
                policy.upstreamBodyForwarded(
                    byteCount: buffer.readableBytes,
                    endsAtEventBoundary: tracker.isAtEventBoundary,
                    carriesContent: !settings.stream || tracker.contentBytesConsumed > contentBefore,
                    now: now
                )
            )
        case .end:
            exchange.ended()
            if let collected = collectedErrorBody {
                perform(policy.upstreamErrorBodyCollected(collected, now: now))
            } else {
                perform(policy.upstreamEnded(now: now))
            }
        }
    }

    /// One read from the upstream's socket was handled: the parts it made the relay write go out in one flush.
    func upstreamReadComplete() {
        guard unflushed else { return }
        unflushed = false
        writer.flush()
    }

    /// Writes a part to the client: flushed at once, except while an upstream read is handled (then
    /// ``upstreamReadComplete()`` flushes every part that read produced together — one send instead of one per part;
    /// a small answer's head, body and end go out in one `writev`). An end is always flushed.
    private func emit(_ part: HTTPServerResponsePart) {
        var isEnd = false
        if case .end = part { isEnd = true }
        let later = inUpstreamRead && !isEnd
        writer.write(part, flush: !later)
        unflushed = later
    }

    /// A debug line about this request, with its id; nothing is built unless debug lines are written.
    private func debug(_ message: @autoclosure () -> Logger.Message, _ metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.debug(message(), metadata: {
            var metadata = metadata()
            if let requestID { metadata["request"] = "\(requestID)" }
            return metadata
        }())
    }

    /// The head the policy is deciding about (forwarded or dropped by the next actions).
    private var pendingUpstreamHead: HTTPResponseHead?

    /// The upstream connection closed; before the end of its answer that is a failure. After the head of a stream,
    /// the message says how it broke and after how many events (item 7 of the scenarios issue).
    func upstreamClosed() {
        guard !done else { return }
        if exchange.failed() == .retryOnFreshConnection, !retried, retryBody != nil, let lease {
            // A reused connection closed before the request's last byte was written: the upstream cannot have
            // acted on it. Once, on a fresh connection.
            // After the write that failed has returned (it may be what closed the connection).
            retried = true
            upstreamWasReset = false
            upstreamHandler?.relay = nil
            upstream = nil
            debug("pooled upstream connection closed before the request was written; retrying on a new one")
            eventLoop.assumeIsolated().execute {
                guard !self.done else { return }
                self.connect(to: lease.upstream, forwardedModelName: lease.forwardedModelName)
            }
            return
        }
        let failure =
            upstreamHeadSeen && settings.stream
            ? UpstreamFailure.streamBroken(reset: upstreamWasReset, events: tracker.eventsCompleted)
            : UpstreamFailure.connectionLost(model: settings.requestedModel)
        perform(policy.upstreamFailed(failure.openAIError, now: now))
    }

    /// An error on the upstream connection; it is closed next (``upstreamClosed()`` reports the failure). A reset is
    /// remembered so that the client's message says "reset" rather than "closed".
    func upstreamError(_ error: any Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET { upstreamWasReset = true }
        debug("upstream connection error", ["error": "\(error)"])
    }

    // MARK: Client events

    /// The client connection closed: stop everything for this request at once.
    func clientClosed() {
        guard !done else { return }
        perform(policy.clientClosed(now: now))
        complete(notifyWriter: false)
    }

    /// The client's socket drained (or filled): resume (or pause) reading from the upstream.
    func clientWritabilityChanged() {
        applyBackpressure()
    }

    /// Reading from the upstream follows the client's writability: only a change touches the channel (its
    /// `autoRead` is on whenever reading is not paused: a new connection's default, and a pooled one's at release).
    private func applyBackpressure() {
        let writable = writer.isWritable
        guard upstreamReadingPaused == writable, let upstream, let options = upstream.syncOptions else { return }
        upstreamReadingPaused = !writable
        try? options.setOption(.autoRead, value: writable)
        if writable { upstream.read() }
        perform(policy.upstreamReadingPaused(!writable, now: now))
    }

    // MARK: Performing the policy's actions

    /// The heartbeat timer firing (a strong reference: the relay cancels it when it completes). The bounds' timer is
    /// the connection's ``SharedBoundTimer``, which calls ``boundTimerFired()``.
    private struct HeartbeatTimer: NIOScheduledCallbackHandler {
        let relay: RequestRelay

        func handleScheduledCallback(eventLoop: some EventLoop) {
            relay.heartbeatTimerFired()
        }
    }

    private func heartbeatTimerFired() {
        timer = nil
        guard !done else { return }
        perform(policy.timerFired(now: now))
    }

    func boundTimerFired() {
        guard !done else { return }
        perform(policy.boundTimerFired(now: now))
    }

    private func perform(_ actions: [HeartbeatAction]) {
        for action in actions {
            guard !done else { return }
            perform(action)
        }
    }

    private func perform(_ action: HeartbeatAction) {
        writer.observe(.action(action))
        switch action {
        case .schedule(let at):
            // Scheduled callbacks, not `scheduleTask`: no promise and future per timer (two per request).
            timer?.cancel()
            timer = try? eventLoop.assumeIsolated().scheduleCallback(
                at: request.arrival + .nanoseconds(at.nanoseconds), handler: HeartbeatTimer(relay: self))
        case .cancelTimer:
            timer?.cancel()
            timer = nil
        case .scheduleBound(let at):
            boundTimer.arm(at: request.arrival + .nanoseconds(at.nanoseconds), for: self)
        case .cancelBoundTimer:
            boundTimer.disarm(for: self)
        case .commitHeadersAndHeartbeat:
            writeCommittedHead()
            writeBody(settings.heartbeat.lineFeedBytes)
        case .sendHeartbeat:
            if let bytes = settings.heartbeat.bytes(after: tracker) { writeBody(bytes) }
        case .withhold:
            debug("heartbeat withheld: the upstream stopped inside an event")
        case .forwardUpstreamHead:
            guard let head = pendingUpstreamHead else { return }
            pendingUpstreamHead = nil
            writeUpstreamHead(head)
        case .discardUpstreamHead:
            pendingUpstreamHead = nil
        case .collectUpstreamErrorBody:
            collectedErrorBody = []
        case .sendInBandError(let error):
            writeBody(tracker.bytesClosingCurrentEvent + Array(error.sseEvent.utf8))
        case .passThroughError(let error):
            finishWithError(error, extraHeaders: [])
        case .finish:
            emit(.end(nil))
            complete(notifyWriter: true)
        case .abortClient:
            complete(notifyWriter: false)
            writer.closeConnection()
        case .closeUpstream:
            exchange.closed()
            upstream?.close(promise: nil)
        }
    }

    private func writeCommittedHead() {
        var headers = HTTPHeaders()
        for (name, value) in CommittedStreamHead.headers { headers.add(name: name, value: value) }
        emit(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
        clientHeadSent = true
    }

    private func writeUpstreamHead(_ upstreamHead: HTTPResponseHead) {
        var headers = HopByHopHeaders.removing(from: upstreamHead.headers)
        if CommittedStreamHead.isEventStream(contentType: headers.first(name: "content-type")),
            !headers.contains(name: "x-accel-buffering")
        {
            headers.add(name: "X-Accel-Buffering", value: "no")
        }
        emit(.head(HTTPResponseHead(version: .http1_1, status: upstreamHead.status, headers: headers)))
        clientHeadSent = true
    }

    private func writeBody(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }  // an empty chunk would end a chunked body
        emit(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
    }

    /// Answers with the error's status and its envelope as the body: nothing was committed yet.
    private func finishWithError(_ error: OpenAIError, extraHeaders: [(String, String)]) {
        let body = ByteBuffer(string: error.json)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        let status = HTTPResponseStatus(statusCode: error.code)
        emit(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        emit(.body(.byteBuffer(body)))
        emit(.end(nil))
        clientHeadSent = true
        complete(notifyWriter: true)
    }

    /// The upstream agreed to switch protocols: the `101` goes to the client and both connections become one byte
    /// tunnel, owned from now on by the connection handler (``ClientWriter/switchProtocols(_:upstream:onClose:)``).
    /// The relay is done, and so is the request: its lease is released at the switch. A tunnel lives as long as a
    /// browser tab (ComfyUI's `/ws`); holding the model for it would block every swap that needs the model stopped
    /// until the tab closed. A swap or unload that stops the model ends the tunnel instead.
    private func switchProtocols(_ upstreamHead: HTTPResponseHead) {
        guard let upstream else { return }
        done = true
        timer?.cancel()
        timer = nil
        if ownsBoundTimer { boundTimer.stop() } else { boundTimer.disarm(for: self) }
        // The upstream's handler keeps this (finished) relay until the tunnel replaces it: a handler without a relay
        // closes its connection at the next part, and the decoder still delivers the `101`'s end.
        retryBody = nil
        var headers = HopByHopHeaders.removing(from: upstreamHead.headers)
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Upgrade", value: upstreamHead.headers.first(name: "upgrade") ?? settings.upgrade ?? "")
        lease?.release()
        lease = nil
        self.upstream = nil
        clientHeadSent = true
        debug("switching protocols: tunnel to the upstream")
        let logger = self.logger
        let requestID = self.requestID ?? "-"
        writer.switchProtocols(
            HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers), upstream: upstream
        ) { logger.debug("tunnel closed", metadata: ["request": "\(requestID)"]) }
    }

    /// The request is over: release everything it held. The upstream connection goes back to its pool only if
    /// ``UpstreamExchange`` says so (never after a stream: llama-server closes after every stream while
    /// advertising keep-alive, and a pooled dead socket would surface as a 502).
    private func complete(notifyWriter: Bool) {
        guard !done else { return }
        done = true
        timer?.cancel()
        timer = nil
        if ownsBoundTimer { boundTimer.stop() } else { boundTimer.disarm(for: self) }
        cancelLeaseRequest?()
        cancelLeaseRequest = nil
        if let upstream {
            if let pool, let poolKey, let upstreamHandler {
                pool.release(
                    upstream, handler: upstreamHandler, key: poolKey, requestsServed: exchange.earlierRequests + 1,
                    verdict: UpstreamExchange.capped(
                        exchange.verdict, idleAtMost: poolKey.upstream.connection.idleConnTimeout),
                    readingPaused: upstreamReadingPaused)
            } else {
                upstream.close(promise: nil)
            }
        }
        upstreamHandler?.relay = nil
        retryBody = nil
        lease?.release()
        lease = nil
        // Checked here: the line's metadata was built (and destroyed) on every request even with debug lines off.
        if logger.logLevel <= .debug { debug("request done", ["heartbeats": "\(policy.stats.description)"]) }
        if notifyWriter { writer.responseCompleted() }
    }
}
