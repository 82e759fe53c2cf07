import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Timeline

/// One relayed request as the activity view sees it, live: its row (status, bytes, heartbeats, tokens…), its
/// timeline (``RequestTimeline`` events on lanes, bounded) and its capture.
///
/// Written only from its connection's event loop (the connection handler is the single writer of the response and
/// hears the relay's observations), read from any thread by the admin endpoints: every access takes its own lock,
/// which only a reader of this one request can contend. Appending an event is the only allocation on the byte
/// path (amortized; labels of byte marks are made when read).
final class LiveRequest: @unchecked Sendable {
    let id: String
    let model: String
    let route: String
    let method: String
    let streaming: Bool
    /// Wall-clock arrival, unix milliseconds.
    let startedAt: Double
    /// Arrival on the event loop's clock (every offset here is from it).
    let arrival: NIODeadline
    /// The connection's event loop, whose clock times the relay's observations.
    let eventLoop: any EventLoop

    /// Byte marks (upstream reads, client writes) one request keeps one by one; past it, each lane's later byte
    /// marks are merged into its last one (bytes added, `end` moved), so a long stream costs a fixed amount: a
    /// record is at most about (256 + 1024) × 80 bytes of marks, and the store keeps 500.
    static let byteMarkLimit = 256
    /// Other marks (heartbeats, withheld heartbeats, errors, heads, the request's own) kept; past it they are
    /// counted, not kept (an 11-minute load under a 1 s interval has 660 heartbeats).
    static let markLimit = 1024

    /// Marks a request that is not a stream usually writes (see `init`).
    static let nonStreamingMarks = 10

    private let lock = NIOLock()
    private var state: State

    struct State {
        var status: Int?
        var timeToFirstByte: Duration?
        var duration: Duration?
        var bytesSent = 0
        var heartbeats = 0
        var withheld = 0
        var inBandErrors = 0
        var clientGoneEarly = false
        var tokens: TokenCounts?
        var events: [RequestTimeline.Event] = []
        /// Heartbeat marks, kept apart and small: a waiting stream's record is mostly heartbeats (an 11-minute load at
        /// a 1 s interval has 660), and a full ``RequestTimeline/Event`` is 80 bytes where these are 16. Each keeps
        /// the position in `events` it was written at, so ``LiveRequest/timeline(now:)`` rebuilds the order exactly.
        var heartbeatMarks: [HeartbeatMark] = []
        var eventsDropped = 0
        var eventsMerged = 0
        var byteMarks = 0
        var otherMarks = 0
        /// The last byte mark of the upstream and client lanes (where later ones merge).
        var lastUpstreamBytes: Int?
        var lastClientBytes: Int?
        /// Each client profile's deadlines, fed with every read the client got — from the moment the events stop
        /// holding every read exactly (a byte mark merged or a mark dropped, past the limits). Until then it is `nil`
        /// and made when read, by replaying the events (``replayedWatch(_:)``): most requests are never looked at,
        /// and feeding it on every write was about 1 % of a small request's CPU.
        var watch: ClientDeadlineWatch?
        /// The next body write is a heartbeat or an error event (the relay said so just before writing it).
        var nextBodyLane: RequestTimeline.Lane?
        var capture: RequestCapture?
    }

    init(
        id: String, model: String, route: String, head: HTTPRequestHead, body: ByteBuffer, streaming: Bool,
        arrival: NIODeadline, eventLoop: any EventLoop, captureLimit: Int?
    ) {
        self.eventLoop = eventLoop
        self.id = id
        self.model = model
        self.route = route
        self.method = head.method.rawValue
        self.streaming = streaming
        self.arrival = arrival
        self.startedAt = (Date().timeIntervalSince1970 * 1000).rounded()
        var state = State()
        // A request that is not a stream writes nine marks (arrival, sent, the upstream's head, body and end, the
        // client's, the end): one allocation instead of four growths. A stream's marks grow as it goes (a waiting
        // stream's are few, and its heartbeats are kept apart).
        if !streaming { state.events.reserveCapacity(Self.nonStreamingMarks) }
        if let captureLimit {
            state.capture = RequestCapture(head: head, body: body, limit: captureLimit)
        }
        state.events.append(
            .init(t: .zero, lane: .request, mark: .note, label: "\(head.method.rawValue) \(head.uri) arrives"))
        self.state = state
    }

    func offset(_ now: NIODeadline) -> Duration {
        .nanoseconds(Int64(now.uptimeNanoseconds) - Int64(arrival.uptimeNanoseconds))
    }

    /// A heartbeat's byte mark: where among the events it was written, when (nanoseconds since arrival), its size.
    struct HeartbeatMark {
        var position: Int32
        var bytes: Int32
        var nanoseconds: Int64
    }

    private func append(_ state: inout State, _ event: RequestTimeline.Event) {
        guard event.mark == .bytes, event.lane == .upstream || event.lane == .client else {
            guard state.otherMarks < Self.markLimit else {
                state.eventsDropped += 1
                return
            }
            state.otherMarks += 1
            if event.mark == .bytes, event.lane == .heartbeat, event.label.isEmpty, event.end == nil,
                let bytes = Int32(exactly: event.bytes ?? 0), let position = Int32(exactly: state.events.count)
            {
                state.heartbeatMarks.append(
                    HeartbeatMark(position: position, bytes: bytes, nanoseconds: event.t.nanoseconds))
                return
            }
            state.events.append(event)
            return
        }
        let last = event.lane == .upstream ? state.lastUpstreamBytes : state.lastClientBytes
        if state.byteMarks >= Self.byteMarkLimit, let index = last {
            if state.events[index].end == nil { state.events[index].label = "later reads merged into this mark" }
            state.events[index].bytes = (state.events[index].bytes ?? 0) + (event.bytes ?? 0)
            state.events[index].end = event.t
            state.eventsMerged += 1
            return
        }
        state.byteMarks += 1
        if event.lane == .upstream { state.lastUpstreamBytes = state.events.count } else { state.lastClientBytes = state.events.count }
        state.events.append(event)
    }

    // MARK: Feeding (the connection's event loop)

    /// A response part is written to the client at `now`.
    func clientWrote(_ part: HTTPServerResponsePart, at now: NIODeadline) {
        let t = offset(now)
        lock.withLockVoid {
            // Past either limit this read's mark may be merged or dropped: the watch takes over from the events.
            if state.watch == nil, state.byteMarks >= Self.byteMarkLimit || state.otherMarks >= Self.markLimit {
                state.watch = Self.replayedWatch(state)
            }
            switch part {
            case .head(let head):
                if state.status == nil { state.status = Int(head.status.code) }
                if state.timeToFirstByte == nil { state.timeToFirstByte = t }
                state.watch?.received(at: t, completesHead: true, hasBody: false)
                append(&state, .init(t: t, lane: .client, mark: .head, label: "response head \(head.status.code)"))
            case .body(let data):
                let count = data.readableBytes
                state.bytesSent += count
                state.watch?.received(at: t, completesHead: false, hasBody: count > 0)
                let lane = state.nextBodyLane ?? .client
                state.nextBodyLane = nil
                switch lane {
                case .heartbeat: state.heartbeats += 1
                case .error: state.inBandErrors += 1
                default: break
                }
                append(&state, .init(t: t, lane: lane, bytes: count, label: lane == .error ? "in-band error event" : ""))
            case .end:
                append(&state, .init(t: t, lane: .client, mark: .close, label: "response ends"))
            }
        }
    }

    /// The relay observed something at `now`.
    func relayObserved(_ observation: RelayObservation) {
        let t = offset(eventLoop.now)
        lock.withLockVoid {
            switch observation {
            case .requestSent:
                append(&state, .init(t: t, lane: .request, mark: .note, label: "request sent upstream"))
            case .upstreamPart(.head(let head)):
                state.capture?.upstreamHead(head, at: t)
                append(&state, .init(t: t, lane: .upstream, mark: .head, label: "upstream head \(head.status.code)"))
            case .upstreamPart(.body(let buffer)):
                buffer.withUnsafeReadableBytes { state.capture?.upstreamBody($0, at: t) }  // memcpy, not an iterator
                append(&state, .init(t: t, lane: .upstream, bytes: buffer.readableBytes, label: ""))
            case .upstreamPart(.end):
                state.capture?.endedAt = t
                append(&state, .init(t: t, lane: .upstream, mark: .close, label: "upstream body ends"))
            case .action(.commitHeadersAndHeartbeat), .action(.sendHeartbeat):
                state.nextBodyLane = .heartbeat
            case .action(.sendInBandError(let error)):
                state.nextBodyLane = .error
                append(&state, .init(t: t, lane: .error, mark: .note, label: error.message))
            case .action(.passThroughError(let error)):
                append(&state, .init(t: t, lane: .error, mark: .note, label: "\(error.code): \(error.message)"))
            case .action(.withhold):
                state.withheld += 1
                append(&state, .init(t: t, lane: .withheld, mark: .note, label: "heartbeat withheld inside an event"))
            case .action:
                break
            }
        }
    }

    /// The request ended: the connection's final figures (the heartbeat policy's counts are authoritative).
    func finished(_ stats: RequestStats) {
        lock.withLockVoid {
            state.duration = stats.duration
            state.capture?.compact()
            state.status = stats.status ?? state.status
            state.bytesSent = stats.bytesSent
            state.clientGoneEarly = stats.clientGoneEarly
            state.tokens = stats.tokens
            if let heartbeats = stats.heartbeats {
                state.heartbeats = heartbeats.heartbeatsSent
                state.withheld = heartbeats.heartbeatsWithheld
                state.inBandErrors = heartbeats.inBandErrors
            }
            let label = stats.clientGoneEarly ? "the client left before the end" : "request ends"
            append(&state, .init(t: stats.duration, lane: .request, mark: stats.clientGoneEarly ? .giveUp : .note, label: label))
        }
    }

    /// Tokens read from the upstream body's tail, as soon as it ended.
    func tokensRead(_ tokens: TokenCounts?) {
        lock.withLockVoid { state.tokens = tokens }
    }

    // MARK: Reading (any thread)

    var isInFlight: Bool { lock.withLock { state.duration == nil } }

    /// Bytes its capture holds (0 when it has none).
    var captureSize: Int { lock.withLock { state.capture?.size ?? 0 } }

    func dropCapture() { lock.withLockVoid { state.capture = nil } }

    /// The row of `GET /api/activity`.
    func summaryJSON() -> String {
        let s = lock.withLock { state }
        var out = "{\"id\":\(ActivityJSON.string(id)),\"model\":\(ActivityJSON.string(model)),"
        out += "\"route\":\(ActivityJSON.string(route)),\"method\":\(ActivityJSON.string(method)),"
        out += "\"status\":\(ActivityJSON.number(s.status)),\"startedAt\":\(ActivityJSON.number(startedAt)),"
        out += "\"durationMs\":\(ActivityJSON.milliseconds(s.duration)),"
        out += "\"ttfbMs\":\(ActivityJSON.milliseconds(s.timeToFirstByte)),\"streaming\":\(streaming),"
        out += "\"heartbeats\":\(s.heartbeats),\"withheld\":\(s.withheld),\"inBandErrors\":\(s.inBandErrors),"
        out += "\"promptTokens\":\(ActivityJSON.number(s.tokens?.promptTokens)),"
        out += "\"completionTokens\":\(ActivityJSON.number(s.tokens?.completionTokens)),"
        out += "\"promptPerSecond\":\(ActivityJSON.number(s.tokens?.promptPerSecond)),"
        out += "\"predictedPerSecond\":\(ActivityJSON.number(s.tokens?.predictedPerSecond)),"
        out += "\"clientGoneEarly\":\(s.clientGoneEarly),\"inFlight\":\(s.duration == nil),"
        out += "\"bytesSent\":\(s.bytesSent),\"hasCapture\":\(s.capture != nil)}"
        return out
    }

    /// The timeline model so far; `now` is where an in-flight request's pending deadlines are judged.
    func timeline(now: NIODeadline) -> (timeline: RequestTimeline, now: Duration, inFlight: Bool, dropped: Int, merged: Int) {
        let s = lock.withLock { state }
        let at = s.duration ?? offset(now)
        let watch = s.watch ?? Self.replayedWatch(s)
        return (RequestTimeline(events: Self.allEvents(s), deadlines: watch.deadlines(at: at)), at, s.duration == nil,
            s.eventsDropped, s.eventsMerged)
    }

    /// The watch fed with the client's reads as the events recorded them, in the order they were written: the
    /// client's head, then each body write (client, heartbeat and error byte marks). Exact while no client read's
    /// mark was merged or dropped, which ``clientWrote(_:at:)`` ensures by making the watch before that can happen.
    static func replayedWatch(_ state: State) -> ClientDeadlineWatch {
        var watch = ClientDeadlineWatch(profiles: ClientProfiles.all)
        for event in allEvents(state) {
            switch (event.lane, event.mark) {
            case (.client, .head):
                watch.received(at: event.t, completesHead: true, hasBody: false)
            case (.client, .bytes), (.heartbeat, .bytes), (.error, .bytes):
                watch.received(at: event.t, completesHead: false, hasBody: (event.bytes ?? 0) > 0)
            default:
                break
            }
        }
        return watch
    }

    /// The events with the heartbeat marks put back where they were written.
    private static func allEvents(_ state: State) -> [RequestTimeline.Event] {
        guard !state.heartbeatMarks.isEmpty else { return state.events }
        var all: [RequestTimeline.Event] = []
        all.reserveCapacity(state.events.count + state.heartbeatMarks.count)
        var next = 0
        for mark in state.heartbeatMarks {
            while next < Int(mark.position) {
                all.append(state.events[next])
                next += 1
            }
            all.append(.init(t: .nanoseconds(mark.nanoseconds), lane: .heartbeat, bytes: Int(mark.bytes), label: ""))
        }
        all.append(contentsOf: state.events[next...])
        return all
    }

    /// `GET /api/activity/{id}/timeline`.
    func timelineJSON(now: NIODeadline) -> String {
        let (timeline, at, inFlight, dropped, merged) = timeline(now: now)
        var out = "{\"id\":\(ActivityJSON.string(id)),\"startedAt\":\(ActivityJSON.number(startedAt)),"
        out += "\"now\":\(ActivityJSON.milliseconds(at)),\"inFlight\":\(inFlight),\"eventsDropped\":\(dropped),\"eventsMerged\":\(merged),"
        return out + timeline.jsonMembers + "}"
    }

    /// `GET /api/captures/{id}`; `nil` without a capture.
    func captureJSON() -> String? {
        lock.withLock { state.capture }?.json(id: id)
    }

    /// `GET /api/captures/{id}/scenario`; `nil` without a capture.
    func scenarioYAML() -> String? {
        let capture = lock.withLock { state.capture }
        return capture?.scenarioYAML(model: model, date: Date(timeIntervalSince1970: startedAt / 1000))
    }
}
