import DurationMath
import Logging
import NIOCore
import NIOHTTP1
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Plays the responder's plans on one connection: the connection executor.
///
/// Sits after `HTTPRequestDecoder` with no response encoder: plans are raw bytes (scripts send broken HTTP on
/// purpose), each `.write` is one `writeAndFlush`. Every action runs at `epoch + at` through
/// `scheduleTask(deadline:)` on this channel's event loop, where the epoch is the request's arrival (or when its
/// turn came, for a pipelined request, or the last gate's release): deadlines come from the plan, never from chained
/// sleeps, and nothing ever blocks the loop, so one connection's hang never delays another. Requests that arrive
/// while a response plays wait in order (pipelining). A peer's FIN or reset is journaled and ends the connection:
/// pending actions are cancelled. All state is confined to the event loop.
final class FakeConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    /// A request waiting for its turn to answer.
    private enum Job {
        /// A scenario request: its journal index, plan, and arrival.
        case scenario(request: Int, plan: ResponsePlan, arrival: NIODeadline)
        /// A harness endpoint's complete response, computed on arrival.
        case harness(response: [UInt8], keepAlive: Bool)
    }

    /// The response being played.
    private struct Playback {
        var request: Int
        var actions: [TimedAction]
        var next = 0
        var arrival: NIODeadline
        /// What the next action's `at` counts from.
        var epoch: NIODeadline
    }

    private let responder: any Responder
    private let journal: Journal
    private let gates: GateRegistry
    private var logger: Logger

    private var context: ChannelHandlerContext?
    private var connection = 0
    private var receiving: IncomingRequest?
    private var jobs = CircularBuffer<Job>()
    private var playback: Playback?
    /// When the last response ended; a queued response's epoch is not before this.
    private var lastEnd = NIODeadline.uptimeNanoseconds(0)
    private var timer: Scheduled<Void>?
    private var gateToken: GateRegistry.Token?
    private var lastWrite: EventLoopFuture<Void>?
    /// A `hang` ending: nothing more is ever sent.
    private var hung = false
    private var outputClosed = false
    private var closing = false

    init(responder: any Responder, journal: Journal, gates: GateRegistry, logger: Logger) {
        self.responder = responder
        self.journal = journal
        self.gates = gates
        self.logger = logger
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelPending()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        connection = journal.openConnection(remoteAddress: context.remoteAddress?.description, at: .now())
        logger[metadataKey: "connection"] = "\(connection)"
        logger.debug("accepted")
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receiving = IncomingRequest(head: head, body: [])
        case .body(let buffer):
            receiving?.body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let request = receiving else { return }
            receiving = nil
            accept(request, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            journal.recordPeerClose(.fin, at: .now(), connection: connection)
            logger.debug("peer closed its side (FIN)")
            // A peer that hangs up has gone away, as llama-server sees a client cancel: stop playing and close.
            // A response cut short this way keeps `end == nil` in the journal.
            closeAfterWrites(context: context, reset: false)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
            journal.recordPeerClose(.reset, at: .now(), connection: connection)
            logger.debug("peer reset the connection")
        } else if error is HTTPParserError {
            logger.debug("malformed request: \(error)")
            if playback == nil, !outputClosed, !closing {
                let problem = OpenAIError(
                    message: "malformed HTTP request: \(error)", type: "invalid_request_error", code: 400)
                let bytes = HTTPWire.response(
                    status: 400, contentType: "application/json", body: Array(problem.json.utf8), close: true)
                let response = context.channel.allocator.buffer(bytes: bytes)
                lastWrite = context.writeAndFlush(wrapOutboundOut(response))
            }
        } else {
            logger.debug("connection error: \(error)")
        }
        closeAfterWrites(context: context, reset: false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !closing {
            // Not our doing: after our half-close NIO turns the peer's FIN straight into a full close.
            journal.recordPeerClose(.fin, at: .now(), connection: connection)
        }
        cancelPending()
        closing = true
        playback = nil
        jobs.removeAll()
        journal.recordClosed(at: .now(), connection: connection)
        logger.debug("closed")
        context.fireChannelInactive()
    }

    // MARK: Requests

    private func accept(_ request: IncomingRequest, context: ChannelHandlerContext) {
        let arrival = NIODeadline.now()
        if HarnessEndpoints.handles(path: request.path) {
            let response = HarnessEndpoints.respond(to: request, journal: journal, gates: gates)
            jobs.append(.harness(response: response, keepAlive: request.head.isKeepAlive))
        } else {
            let requestContext = request.context
            // After a hang or a half-close nothing more can be sent: journal the request, but do not let it use
            // up a scripted response (a sequence step) that it can never play.
            let answerable = !hung && !outputClosed
            let decision = answerable
                ? responder.respond(to: requestContext, uptime: journal.uptime(at: arrival))
                : ResponderDecision(plan: ResponsePlan(actions: []), rule: "unanswered")
            let record = RequestRecord(
                method: requestContext.method,
                path: requestContext.path,
                query: requestContext.query,
                headers: requestContext.headers.map { JournalHeader(name: $0.name, value: $0.value) },
                body: JournalBytes(request.body),
                arrival: journal.sinceStart(arrival),
                scenario: decision.scenario,
                rule: decision.rule,
                timeScale: decision.timeScale
            )
            let index = journal.record(record, on: connection)
            jobs.append(.scenario(request: index, plan: decision.plan, arrival: arrival))
        }
        startNextIfIdle(context: context)
    }

    private func startNextIfIdle(context: ChannelHandlerContext) {
        while playback == nil, !hung, !closing, !outputClosed, let job = jobs.popFirst() {
            switch job {
            case .harness(let response, let keepAlive):
                lastWrite = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: response)))
                if !keepAlive { closeAfterWrites(context: context, reset: false) }
            case .scenario(let request, let plan, let arrival):
                playback = Playback(
                    request: request, actions: plan.actions, arrival: arrival, epoch: max(arrival, lastEnd))
                advance(context: context)
            }
        }
    }

    // MARK: Playing a plan

    /// Performs every action that is due, then schedules itself for the next one.
    private func advance(context: ChannelHandlerContext) {
        timer = nil
        while let current = playback, !closing {
            guard current.next < current.actions.count else {
                finish(.clean, context: context)
                return
            }
            let timed = current.actions[current.next]
            let deadline = current.epoch + .nanoseconds(timed.at.nanoseconds)
            if deadline > .now() {
                timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                    self.advance(context: context)
                }
                return
            }
            playback?.next += 1
            switch timed.action {
            case .write(let bytes):
                write(bytes, scheduled: deadline, context: context)
            case .gate(let name):
                guard passGate(name, context: context) else { return }
            case .end(let ending):
                finish(ending, context: context)
                return
            }
        }
    }

    private func write(_ bytes: [UInt8], scheduled: NIODeadline, context: ChannelHandlerContext) {
        guard let playback else { return }
        let now = NIODeadline.now()
        journal.recordWrite(
            WriteRecord(
                offset: (now - playback.arrival).nanoseconds,
                scheduled: (scheduled - playback.arrival).nanoseconds,
                bytes: bytes
            ),
            connection: connection,
            request: playback.request
        )
        let written = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))
        lastWrite = written
        let (journal, connection, count) = (self.journal, self.connection, bytes.count)
        written.whenSuccess { journal.recordBytesWritten(count, connection: connection) }
    }

    /// Whether the gate is open now; if not, playing resumes from `gateReleased`.
    private func passGate(_ name: String, context: ChannelHandlerContext) -> Bool {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let wait = gates.wait(for: name) { releasedAt in
            eventLoop.execute { handler.value.gateReleased(name, at: releasedAt) }
        }
        switch wait {
        case .released:
            resume(afterGate: name, at: .now())
            return true
        case .waiting(let token):
            gateToken = token
            logger.debug("waiting on gate \(name)")
            return false
        }
    }

    private func gateReleased(_ name: String, at releasedAt: NIODeadline) {
        guard let context, let token = gateToken, token.name == name, !closing else { return }
        gateToken = nil
        resume(afterGate: name, at: releasedAt)
        advance(context: context)
    }

    private func resume(afterGate name: String, at time: NIODeadline) {
        guard let current = playback else { return }
        playback?.epoch = time
        journal.recordGate(
            GateRecord(name: name, passedAt: (time - current.arrival).nanoseconds),
            connection: connection,
            request: current.request
        )
    }

    private func finish(_ ending: Ending, context: ChannelHandlerContext) {
        guard let current = playback else { return }
        playback = nil
        lastEnd = .now()
        journal.recordEnd(
            EndRecord(kind: ending.rawValue, offset: (lastEnd - current.arrival).nanoseconds),
            connection: connection,
            request: current.request
        )
        switch ending {
        case .clean:
            startNextIfIdle(context: context)
        case .close, .fin:
            closeAfterWrites(context: context, reset: false)
        case .rst:
            closeAfterWrites(context: context, reset: true)
        case .halfClose:
            outputClosed = true
            afterWrites(context: context) { context.close(mode: .output, promise: nil) }
        case .hang:
            hung = true
        }
    }

    // MARK: Closing

    /// Closes once every write so far has gone out; with `reset`, sets `SO_LINGER` {1, 0} first so the peer gets
    /// ECONNRESET instead of EOF.
    private func closeAfterWrites(context: ChannelHandlerContext, reset: Bool) {
        guard !closing else { return }
        closing = true
        cancelPending()
        afterWrites(context: context) {
            guard reset, let socket = context.channel as? any SocketOptionProvider else {
                context.close(promise: nil)
                return
            }
            socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    private func afterWrites(context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        let written = lastWrite ?? context.eventLoop.makeSucceededVoidFuture()
        written.assumeIsolated().whenComplete { _ in body() }
    }

    private func cancelPending() {
        timer?.cancel()
        timer = nil
        if let gateToken { gates.cancel(gateToken) }
        gateToken = nil
    }
}
