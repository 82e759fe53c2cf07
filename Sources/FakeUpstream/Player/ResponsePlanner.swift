import Wire

/// Turns a response script into a `ResponsePlan`: every byte framed, every time computed, nothing left for the
/// executor to decide.
///
/// Pure: no clock, no socket. Waits add up into absolute offsets from the epoch (request arrival, or the last gate's
/// release) and every offset is scaled once, so times never drift however many steps there are. llama-server's
/// pings (`LlamaServerBehaviour.ping`) are planned here too, as writes at exact offsets, so the executor never
/// decides anything about them.
public struct ResponsePlanner: Sendable {
    /// Multiplies every duration of the script.
    public var timeScale: Double
    /// Model written into generated chunks when the request names none (the scenario's `model`).
    public var model: String
    /// The llama-server release imitated: when `tokens` sends its head, and the pings of silent streams.
    public var llamaServer: LlamaServerBehaviour

    /// A planner for one scenario; a scale that is negative or not finite counts as 1.
    public init(
        timeScale: Double = 1, model: String = Scenario.defaultModel,
        llamaServer: LlamaServerBehaviour = LlamaServerBehaviour()
    ) {
        self.timeScale = timeScale.isFinite && timeScale >= 0 ? timeScale : 1
        self.model = model
        self.llamaServer = llamaServer
    }

    /// llama-server's head for a stream, sent when a script writes before any `status` step: 200, the header list
    /// of chat_stream.raw, chunked.
    public static let sseHead = ResponseHead(
        status: 200,
        headers: [HeaderField("X-Accel-Buffering", "no"), HeaderField("Content-Type", "text/event-stream")],
        framing: .chunked
    )

    /// The plan for answering `request` with `script`.
    public func plan(_ script: ResponseScript, for request: RequestContext) -> ResponsePlan {
        var builder = Builder(timeScale: timeScale, ping: llamaServer.ping(for: request.body))
        for step in script.steps {
            if builder.ended { break }
            switch step {
            case .wait(let duration):
                builder.cursor += max(duration, .zero)
            case .head(let head):
                builder.head(head)
            case .write(let bytes):
                builder.body(bytes)
            case .event(let event):
                builder.body(event.wireBytes)
            case .split(let split):
                builder.split(split)
            case .tokens(let stream):
                let generator = TokenChunkGenerator(
                    stream: stream,
                    style: stream.style ?? TokenChunkGenerator.style(forPath: request.path),
                    model: request.model ?? model,
                    promptTokens: Self.promptTokens(of: request),
                    includeUsage: RequestBody.includeUsage(request.body)
                )
                let start = builder.cursor
                // The slot starts here; since llama.cpp #23884 its head goes out now, not with the first chunk.
                if llamaServer.headers == .early && builder.heads.isEmpty { builder.head(ResponsePlanner.sseHead) }
                for write in generator.writes() {
                    builder.cursor = start + write.at
                    builder.body(write.bytes)
                }
                builder.cursor = start + generator.finishOffset
            case .gate(let name):
                builder.gate(name)
            case .end(let ending):
                builder.end(ending)
            }
        }
        if !builder.ended { builder.end(.clean) }
        return builder.finish()
    }

    /// A stand-in for the prompt's token count: about four bytes of request body per token.
    static func promptTokens(of request: RequestContext) -> Int {
        max(1, request.body.count / 4)
    }

    /// Accumulates actions; heads are rendered at the end, once their body length is known.
    private struct Builder {
        let timeScale: Double
        /// The request's ping, if the imitated llama-server pings at all.
        let ping: SSEPing?
        var cursor: Duration = .zero
        var actions: [TimedAction] = []
        var ended = false
        /// Heads written so far: where their placeholder sits, and the body bytes counted after them.
        var heads: [(index: Int, head: ResponseHead, bodyLength: Int)] = []
        /// The current head is one that llama-server pings: an event stream whose framing leaves room for them.
        var pingable = false
        /// When the last byte went out (scaled, current epoch); silence is counted from here.
        var lastWrite: Duration = .zero
        /// Where the current head's body stands relative to SSE events: pings go only between events.
        var events = SSEBoundaryTracker()
        var pingsPlanned = 0

        init(timeScale: Double, ping: SSEPing?) {
            self.timeScale = timeScale
            self.ping = ping
        }

        var now: Duration { cursor.saturatingScaled(by: timeScale) }

        /// Appends at the cursor, after the pings that the silence before it holds.
        mutating func append(_ action: PlannedAction) {
            fillSilence(until: now)
            actions.append(TimedAction(at: now, action))
        }

        mutating func head(_ head: ResponseHead) {
            heads.append((actions.count, head, 0))
            append(.write([]))
            pingable = ping != nil && Self.isPingable(head)
            events = SSEBoundaryTracker()
            lastWrite = now
        }

        /// One body write, framed by the current head; an empty write sends nothing.
        mutating func body(_ bytes: [UInt8]) {
            if heads.isEmpty { head(ResponsePlanner.sseHead) }
            guard !bytes.isEmpty else { return }
            append(.write(framed(bytes)))
            events.consume(bytes)
            lastWrite = now
        }

        /// Counts `bytes` into the current head's body and frames them as it says.
        mutating func framed(_ bytes: [UInt8]) -> [UInt8] {
            heads[heads.count - 1].bodyLength += bytes.count
            switch heads[heads.count - 1].head.framing {
            case .chunked: return HTTPWire.chunk(bytes)
            case .contentLength, .closeDelimited, .raw: return bytes
            }
        }

        /// Plans a ping at every `interval` of silence before `time`: after the last write, and again after each
        /// ping. A write due exactly when a ping would be goes out alone (the stream was not silent for longer).
        /// Nothing while an event is incomplete: the write that completes it restarts the count anyway.
        mutating func fillSilence(until time: Duration) {
            guard pingable, let ping, events.position == .betweenEvents else { return }
            let interval = ping.interval.saturatingScaled(by: timeScale)
            guard interval > .zero else { return }
            var next = lastWrite + interval
            while next < time, pingsPlanned < SSEPing.maxPingsPerResponse {
                actions.append(TimedAction(at: next, .write(framed(ping.bytes))))
                events.consume(ping.bytes)
                pingsPlanned += 1
                lastWrite = next
                guard events.position == .betweenEvents else { return }
                next = lastWrite + interval
            }
        }

        /// llama-server pings only event streams; a raw (recorded) or length-delimited body has no room for
        /// bytes the script did not write.
        static func isPingable(_ head: ResponseHead) -> Bool {
            switch head.framing {
            case .chunked, .closeDelimited: break
            case .contentLength, .raw: return false
            }
            return head.headers.contains { field in
                field.name.lowercased() == "content-type" && field.value.lowercased().contains("text/event-stream")
            }
        }

        /// A gate's wait has no length known in advance: pings stop while it lasts, and silence counts again from
        /// its release (the new epoch's zero).
        mutating func gate(_ name: String) {
            append(.gate(name))
            cursor = .zero
            lastWrite = .zero
        }

        mutating func split(_ split: SplitWrite) {
            let cuts = split.offsets.filter { $0 > 0 && $0 < split.bytes.count }
            var bounds = [0]
            for cut in cuts where cut > bounds[bounds.count - 1] { bounds.append(cut) }
            bounds.append(split.bytes.count)
            for piece in 0..<(bounds.count - 1) {
                if piece > 0 {
                    let gap = piece - 1 < split.gaps.count ? split.gaps[piece - 1] : (split.gaps.last ?? .zero)
                    cursor += max(gap, .zero)
                }
                body(Array(split.bytes[bounds[piece]..<bounds[piece + 1]]))
            }
        }

        mutating func end(_ ending: Ending) {
            var ending = ending
            if ending == .clean || ending == .close {
                if heads.isEmpty { head(ResponsePlanner.sseHead) }
                switch heads[heads.count - 1].head.framing {
                case .chunked:
                    append(.write(HTTPWire.chunkTerminator))
                    pingable = false  // the body is over
                // Raw bytes carry their own framing; the ending only decides about the connection.
                case .contentLength, .raw: break
                // Such a body only ends when the connection does.
                case .closeDelimited: ending = .close
                }
            }
            append(.end(ending))
            ended = true
        }

        func finish() -> ResponsePlan {
            var actions = self.actions
            for head in heads {
                actions[head.index].action = .write(HTTPWire.headBytes(head.head, bodyLength: head.bodyLength))
            }
            return ResponsePlan(actions: actions)
        }
    }
}
