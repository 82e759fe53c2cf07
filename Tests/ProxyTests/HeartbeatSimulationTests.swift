import DurationMath
import Proxy
import SeededRandom
import Testing
import Wire

/// A relay without sockets: performs a ``HeartbeatPolicy``'s actions with a manual clock, the real boundary tracker
/// and the real heartbeat bytes, and records what the client would receive.
struct SimulatedRelay {
    enum ClientWrite: Hashable {
        case committedHead
        case heartbeat
        case upstreamHead
        case body
        case loadingMessage
        case inBandError(OpenAIError)
        case passThroughError(OpenAIError)
        case finish
        case abort
    }

    var policy: HeartbeatPolicy
    var now = Duration.zero
    /// The armed timer's deadline.
    var timer: Duration?
    /// The armed upstream-bound timer's deadline.
    var boundTimer: Duration?
    var tracker = SSEBoundaryTracker()
    let heartbeat = SSEHeartbeat.keepalive
    /// Everything written to the client, in order, with its time.
    var writes: [(at: Duration, write: ClientWrite)] = []
    /// The client's body bytes (heads aside).
    var clientBytes: [UInt8] = []
    /// The client's body bytes that are not heartbeats: forwarded upstream bytes, loading messages, errors.
    var nonHeartbeatBytes: [UInt8] = []
    /// The upstream body bytes, forwarded or collected.
    var upstreamBytes: [UInt8] = []
    var actions: [HeartbeatAction] = []
    var upstreamClosed = false
    var collectedErrorStatus: Int?
    /// Set when an action is performed that a relay could not perform (a write after the end, two armed timers).
    var violations: [String] = []

    init(interval: Duration, streaming: Bool = true, bounds: UpstreamTimeBounds = UpstreamTimeBounds()) {
        policy = HeartbeatPolicy(interval: interval, isStreamingRequest: streaming, bounds: bounds)
        perform(policy.start(now: .zero))
    }

    var clientGone = false

    var isEnded: Bool {
        clientGone || writes.contains {
            switch $0.write {
            case .finish, .abort, .passThroughError: true
            default: false
            }
        }
    }
    var heartbeatTimes: [Duration] {
        writes.filter { $0.write == .heartbeat || $0.write == .committedHead }.map(\.at)
    }
    var withholds: Int { actions.count(where: { $0 == .withhold }) }

    mutating func perform(_ list: [HeartbeatAction]) {
        for action in list {
            actions.append(action)
            switch action {
            case .schedule(let at):
                timer = at
            case .cancelTimer:
                timer = nil
            case .scheduleBound(let at):
                boundTimer = at
            case .cancelBoundTimer:
                boundTimer = nil
            case .commitHeadersAndHeartbeat:
                write(.committedHead)
                write(.heartbeat, bytes: heartbeat.bytes(after: tracker))
            case .sendHeartbeat:
                guard let bytes = heartbeat.bytes(after: tracker) else {
                    violations.append("heartbeat inside an event at \(now)")
                    continue
                }
                write(.heartbeat, bytes: bytes)
            case .withhold:
                break
            case .forwardUpstreamHead:
                write(.upstreamHead)
            case .discardUpstreamHead:
                break
            case .collectUpstreamErrorBody(let status):
                collectedErrorStatus = status
            case .sendInBandError(let error):
                write(.inBandError(error), bytes: tracker.bytesClosingCurrentEvent + Array(error.sseEvent.utf8))
            case .passThroughError(let error):
                write(.passThroughError(error))
            case .finish:
                write(.finish)
            case .abortClient:
                write(.abort)
            case .closeUpstream:
                upstreamClosed = true
            }
        }
    }

    private mutating func write(_ what: ClientWrite, bytes: [UInt8]? = nil) {
        if isEnded { violations.append("\(what) written after the response ended, at \(now)") }
        writes.append((now, what))
        if let bytes {
            clientBytes += bytes
            if what != .heartbeat { nonHeartbeatBytes += bytes }
        }
    }

    /// Moves the clock to `time`, firing the timer each time it is due on the way.
    mutating func advance(to time: Duration) {
        while true {
            let heartbeatDue = timer.map { $0 <= time } ?? false
            let boundDue = boundTimer.map { $0 <= time } ?? false
            if boundDue, !heartbeatDue || boundTimer! < timer! {
                now = max(now, boundTimer!)
                boundTimer = nil
                perform(policy.boundTimerFired(now: now))
            } else if heartbeatDue {
                now = max(now, timer!)
                timer = nil
                perform(policy.timerFired(now: now))
            } else {
                break
            }
        }
        now = max(now, time)
    }

    mutating func upstreamRequestSent() {
        perform(policy.upstreamRequestSent(now: now))
    }

    mutating func advance(by duration: Duration) { advance(to: now + duration) }

    mutating func upstreamHead(status: Int = 200, contentType: String? = "text/event-stream") {
        perform(policy.upstreamHeadArrived(status: status, contentType: contentType, now: now))
    }

    /// The upstream sends `text`; the relay forwards it if the policy let the body through.
    mutating func upstreamBody(_ text: String) {
        if isEnded || upstreamClosed { return }  // a relay reads nothing more from a closed upstream
        let bytes = Array(text.utf8)
        upstreamBytes += bytes
        if collectedErrorStatus != nil { return }  // collected, not forwarded
        tracker.consume(bytes)
        write(.body, bytes: bytes)
        let boundary = tracker.isAtEventBoundary
        perform(policy.upstreamBodyForwarded(byteCount: bytes.count, endsAtEventBoundary: boundary, now: now))
    }

    mutating func upstreamEnded() {
        if collectedErrorStatus != nil {
            perform(policy.upstreamErrorBodyCollected(upstreamBytes, now: now))
        } else {
            perform(policy.upstreamEnded(now: now))
        }
    }

    mutating func upstreamFails(_ failure: UpstreamFailure = .connectionLost(model: "m")) {
        perform(policy.upstreamFailed(failure.openAIError, now: now))
    }

    mutating func clientCloses() {
        perform(policy.clientClosed(now: now))
        clientGone = true
    }

    mutating func loadingMessage(_ text: String) {
        let bytes = Array(text.utf8)
        write(.loadingMessage, bytes: bytes)
        perform(policy.clientBytesSent(count: bytes.count, now: now))
    }

    /// The client's body with every heartbeat this relay wrote taken out.
    var clientBytesWithoutHeartbeats: [UInt8] {
        var out: [UInt8] = []
        var index = 0
        let patterns = [heartbeat.lineFeedBytes, heartbeat.carriageReturnBytes]
        var remaining = writes.count(where: { $0.write == .heartbeat })
        while index < clientBytes.count {
            if remaining > 0, let pattern = patterns.first(where: { clientBytes[index...].starts(with: $0) }) {
                index += pattern.count
                remaining -= 1
            } else {
                out.append(clientBytes[index])
                index += 1
            }
        }
        return out
    }
}

/// The tests' generator: Wire's SplitMix64, seeded as these tests always were (seed × the golden ratio), so a
/// failing seed replays exactly.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    init(scrambledSeed seed: UInt64) { self.init(seed: seed &* 0x9E37_79B9_7F4A_7C15) }

    mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}

@Suite struct HeartbeatSimulationTests {
    /// One random request (slow head, streams of events split anywhere with stalls inside and between events,
    /// loading messages, error answers, failures, the client leaving, time bounds that may pass anywhere), played
    /// to its end and three intervals past.
    static func randomRequest(seed: UInt64) -> (relay: SimulatedRelay, interval: Duration) {
        var random = SeededRandom(scrambledSeed: seed)
        let interval = Duration.milliseconds(random.int(in: 1...20) * 100)
        // The bounds draw from their own generator, so each seed's request is the one it always was.
        var boundsRandom = SeededRandom(scrambledSeed: seed &+ 1_000_003)
        let bounds =
            boundsRandom.int(in: 0...2) == 0
            ? UpstreamTimeBounds()
            : UpstreamTimeBounds(
                responseHeaderTimeout: interval * boundsRandom.int(in: 1...8) / 2,
                streamIdleTimeout: interval * boundsRandom.int(in: 1...8) / 2)
        var relay = SimulatedRelay(interval: interval, bounds: bounds)
        let events = ["data: {\"a\":1}\n\n", "data: x\r\n\r\n", "data: y\r\r", ": upstream\n\n", "data: a\ndata: b\n\n"]

        func randomPause() -> Duration { .milliseconds(random.int(in: 0...Int(interval.nanoseconds / 1_000_000) * 3)) }

        if random.int(in: 0...3) == 0 {
            relay.perform(relay.policy.loadingStateCommitted(now: relay.now))
            for _ in 0..<random.int(in: 0...3) {
                relay.advance(by: randomPause())
                relay.loadingMessage("data: {\"loading\":true}\n\n")
            }
        }
        relay.advance(by: randomPause())
        relay.upstreamRequestSent()
        relay.advance(by: .milliseconds(boundsRandom.int(in: 0...Int(interval.nanoseconds / 1_000_000) * 2)))
        let outcome = random.int(in: 0...9)
        switch outcome {
        case 0: relay.upstreamFails()
        case 1:
            relay.upstreamHead(status: 500, contentType: "application/json")
            relay.advance(by: randomPause())
            relay.upstreamBody("{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}")
            relay.upstreamEnded()
        default:
            relay.upstreamHead()
            var stream = ""
            for _ in 0..<random.int(in: 0...6) { stream += events[random.int(in: 0...(events.count - 1))] }
            var offset = stream.utf8.startIndex
            while offset < stream.utf8.endIndex {
                let end = stream.utf8.index(offset, offsetBy: random.int(in: 1...9), limitedBy: stream.utf8.endIndex)
                    ?? stream.utf8.endIndex
                relay.upstreamBody(String(decoding: stream.utf8[offset..<end], as: UTF8.self))
                offset = end
                relay.advance(by: randomPause())
            }
            if outcome == 2 {
                relay.clientCloses()
            } else if outcome == 3 {
                relay.upstreamFails()
            } else {
                relay.upstreamEnded()
            }
        }
        relay.advance(by: interval * 3)  // nothing may happen after the end
        return (relay, interval)
    }

    /// Random requests checked against the invariants.
    @Test(arguments: UInt64(1)...300)
    func invariantsHoldForRandomRequests(seed: UInt64) {
        let (relay, interval) = Self.randomRequest(seed: seed)
        #expect(relay.violations.isEmpty, "seed \(seed): \(relay.violations)")
        #expect(relay.timer == nil, "seed \(seed): a timer is left armed")
        #expect(relay.boundTimer == nil, "seed \(seed): a bound timer is left armed")
        // A bound that passed closed the upstream and told the client exactly once (or closed its connection).
        let timeouts = relay.writes.filter {
            switch $0.write {
            case .inBandError(let error), .passThroughError(let error): error.type == "timeout_error"
            default: false
            }
        }
        #expect(timeouts.count <= 1, "seed \(seed)")
        if !timeouts.isEmpty { #expect(relay.upstreamClosed, "seed \(seed)") }

        // Every heartbeat comes exactly one interval after the previous client write: never earlier (no fixed
        // ticker, no half intervals), never later (the manual clock fires timers on time).
        var lastWrite = Duration.zero
        for (at, write) in relay.writes {
            if write == .heartbeat {
                #expect(at - lastWrite == interval, "seed \(seed): heartbeat at \(at), previous write \(lastWrite)")
            }
            if write != .committedHead { lastWrite = at }
        }
        // Without the heartbeats, the client's bytes are exactly what the relay forwarded or wrote itself, and a
        // client's parser dispatches the same events with or without them.
        #expect(relay.clientBytesWithoutHeartbeats == relay.nonHeartbeatBytes, "seed \(seed)")
        #expect(SSEEvents.parse(relay.clientBytes) == SSEEvents.parse(relay.nonHeartbeatBytes), "seed \(seed)")
        // The committing heartbeat comes first, if at all, and only before the upstream's head.
        if let commit = relay.writes.firstIndex(where: { $0.write == .committedHead }) {
            #expect(commit == 0, "seed \(seed)")
            #expect(!relay.writes.contains { $0.write == .upstreamHead }, "seed \(seed)")
        }
    }

    /// The random requests above reach every path: commits, heartbeats, withholds, in-band and passed-through
    /// errors, aborts, clients leaving, CR-ended boundaries.
    @Test func randomRequestsCoverEveryPath() {
        var seen: [String: Int] = [:]
        for seed in UInt64(1)...300 {
            let relay = Self.randomRequest(seed: seed).relay
            for (_, write) in relay.writes {
                let name = switch write {
                case .inBandError: "inBandError"
                case .passThroughError: "passThroughError"
                default: "\(write)"
                }
                seen[name, default: 0] += 1
            }
            if relay.withholds > 0 { seen["withhold", default: 0] += 1 }
            if relay.clientGone { seen["clientGone", default: 0] += 1 }
            for (_, write) in relay.writes {
                switch write {
                case .inBandError(let error) where error.type == "timeout_error": seen["boundInBand", default: 0] += 1
                case .passThroughError(let error) where error.type == "timeout_error":
                    seen["bound504", default: 0] += 1
                default: break
                }
            }
            let crHeartbeat = relay.heartbeat.carriageReturnBytes
            if relay.clientBytes.indices.contains(where: { relay.clientBytes[$0...].starts(with: crHeartbeat) }) {
                seen["carriageReturnHeartbeat", default: 0] += 1
            }
        }
        for path in [
            "committedHead", "heartbeat", "upstreamHead", "body", "loadingMessage", "inBandError", "passThroughError",
            "finish", "abort", "withhold", "clientGone", "carriageReturnHeartbeat", "boundInBand", "bound504",
        ] {
            #expect(seen[path, default: 0] > 0, "no random request reached \(path): \(seen)")
        }
    }

    /// Silence between events is filled: while the upstream is between events and the request is not over, the
    /// client never waits more than one interval for a byte.
    @Test(arguments: UInt64(1)...100)
    func silenceBetweenEventsNeverExceedsInterval(seed: UInt64) {
        var random = SeededRandom(scrambledSeed: seed)
        let interval = Duration.seconds(1)
        var relay = SimulatedRelay(interval: interval)
        relay.advance(by: .milliseconds(random.int(in: 0...5000)))
        relay.upstreamHead()
        for _ in 0..<random.int(in: 1...8) {
            relay.advance(by: .milliseconds(random.int(in: 0...4000)))
            relay.upstreamBody("data: {\"t\":1}\n\n")
        }
        let end = relay.now
        relay.upstreamEnded()
        var last = Duration.zero
        for (at, _) in relay.writes where at <= end {
            #expect(at - last <= interval, "seed \(seed): \(at - last) of silence before \(at)")
            last = at
        }
        #expect(end - last <= interval, "seed \(seed)")
    }
}

/// Splits a client's bytes into the events a WHATWG parser dispatches (comment lines dropped), for comparisons.
enum SSEEvents {
    static func parse(_ bytes: [UInt8]) -> [[String]] {
        var events: [[String]] = []
        var fields: [String] = []
        var line: [UInt8] = []
        var index = 0
        func endLine() {
            if line.isEmpty {
                if !fields.isEmpty { events.append(fields) }
                fields = []
            } else if line.first != UInt8(ascii: ":") {
                fields.append(String(decoding: line, as: UTF8.self))
            }
            line = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == 0x0A {
                endLine()
            } else if byte == 0x0D {
                endLine()
                if index < bytes.count, bytes[index] == 0x0A { index += 1 }
            } else {
                line.append(byte)
            }
        }
        return events
    }
}
