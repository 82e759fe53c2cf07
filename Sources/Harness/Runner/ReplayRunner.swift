import DurationMath
import FakeUpstream
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RawHTTP
import Wire

/// Runs one scenario end to end: starts the fake upstream (and the proxy, when proxied), sends the scenario's
/// request with a client that applies the profile live, then checks the expectations against the client's reads
/// and the fake's journal.
public enum ReplayRunner {
    /// Replays `scenario` with `options`; throws only when the run itself cannot happen (no port, no proxy).
    public static func run(_ scenario: Scenario, options: ReplayOptions = ReplayOptions()) async throws
        -> ReplayResult
    {
        let scale = options.timeScale
        let spec = scenario.spec ?? ScenarioSpec()
        let baseProfile = options.profile ?? ClientProfiles.resolve(spec.profile)
        let profile = baseProfile.scaled(by: scale)
        let proxySettings = options.proxySettings ?? spec.proxy
        let comment = proxySettings?.heartbeatComment ?? SSEHeartbeat.defaultComment
        let heartbeat = (try? SSEHeartbeat(comment: comment)) ?? .keepalive
        var boundSpec = spec
        boundSpec.proxy = proxySettings
        let bound = options.observationLimit
            ?? RunBound.realTime(
                scenario, spec: boundSpec, profile: baseProfile, scale: scale, realMargin: options.realMargin)

        var launched = scenario
        launched.timeScale = scale
        var launchedSpec = spec
        launchedSpec.proxy = proxySettings
        launched.spec = launchedSpec

        // Each run has its own threads, so one run's heavy planning (10,000 tokens, a megabyte event) never
        // delays another run's timers, and the client's timers never wait behind the fake's writes.
        let upstreamGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer {
            upstreamGroup.shutdownGracefully { _ in }
            clientGroup.shutdownGracefully { _ in }
        }
        let fake = FakeUpstreamServer(
            responder: ScenarioResponder(scenarios: [scenario], timeScaleOverride: scale), logger: options.logger,
            group: upstreamGroup)
        let upstreamPort = try await fake.start()
        var stopProxy: (@Sendable () async -> Void)?
        let attempts: [ReplayAttempt]
        let snapshot: JournalSnapshot
        do {
            var port = upstreamPort
            if case .proxied(let launcher) = options.topology {
                let proxy = try await launcher.launch(upstreamPort: upstreamPort, scenario: launched)
                port = proxy.port
                stopProxy = proxy.stop
            }
            let request = spec.request ?? ClientRequestSpec()
            let requestBytes = Self.requestBytes(request, host: "127.0.0.1:\(port)", model: scenario.model)
            let client = ReplayClient(group: clientGroup)
            let started = ContinuousClock.now
            let runDeadline = started + bound
            // The runner opens the gates the spec lists, timed from the moment the first request was sent; a gate
            // nobody opens is reported after the run. The openings are timers on the fake's own event-loop thread,
            // not sleeping tasks: with the test suites running in parallel, the shared cooperative pool delayed a
            // `Task.sleep` by more than a client's whole timer (a gate due at 50 ms still shut at 300 ms).
            let gateLoop = upstreamGroup.next()
            let openers = NIOLockedValueBox<[Scheduled<Void>]>([])
            let openings = spec.openGates
            let openGates: @Sendable () -> Void = {
                let sent = NIODeadline.now()
                let scheduled = openings.map { opening in
                    let at = sent + .nanoseconds(opening.after.scaled(by: scale).nanosecondsClamped)
                    return gateLoop.scheduleTask(deadline: at) { fake.releaseGate(opening.name) }
                }
                openers.withLockedValue { $0 += scheduled }
            }
            defer { openers.withLockedValue { $0.forEach { $0.cancel() } } }
            var made: [ReplayAttempt] = []
            for retry in 0...profile.retries {
                if retry > 0 { try await Task.sleep(for: profile.delay(beforeRetry: retry)) }
                let left = max(.zero, runDeadline - ContinuousClock.now)
                let attempt = try await client.attempt(
                    host: "127.0.0.1", port: port, request: requestBytes, method: request.method, profile: profile,
                    limit: left, onSent: retry == 0 && !openings.isEmpty ? openGates : nil)
                made.append(attempt)
                guard case .timedOut = attempt.end else { break }
            }
            attempts = made
            if let within = spec.expect?.upstreamSawCloseWithin {
                let count = made.count
                _ = try? await fake.waitFor(timeout: within + options.slack + .seconds(1), "the upstream sees the close") {
                    snapshot in
                    // Only connections that carried the client's request count (a proxy's health checks do not).
                    let closed = snapshot.connections.filter { connection in
                        (connection.peerClose != nil || connection.closedAt != nil)
                            && connection.requests.contains {
                                $0.path == upstreamPath(request.path, model: scenario.model)
                                    && $0.method == request.method
                            }
                    }
                    return closed.count >= count
                }
            }
            snapshot = fake.journal.snapshot
        } catch {
            if let stopProxy { await stopProxy() }
            try? await fake.stop()
            throw error
        }
        if let stopProxy { await stopProxy() }
        let origin = fake.journal.origin
        try? await fake.stop()

        var result = assemble(
            scenario: scenario, options: options, profile: profile, heartbeat: heartbeat,
            proxySettings: proxySettings, attempts: attempts, journal: snapshot, origin: origin, bound: bound)
        if let run = options.runName { result.scenario += "/" + run }
        return result
    }

    /// The request's bytes: request line, `Host`, the spec's headers, `Content-Type` and `Content-Length`.
    static func requestBytes(_ request: ClientRequestSpec, host: String, model: String) -> [UInt8] {
        let body = request.body ?? ClientRequestSpec.defaultBody(model: model)
        var lines = ["\(request.method) \(request.path) HTTP/1.1", "Host: \(host)"]
        let names = Set(request.headers.map { $0.name.lowercased() })
        for header in request.headers where header.name.lowercased() != "host" {
            lines.append("\(header.name): \(header.value)")
        }
        if !body.isEmpty && !names.contains("content-type") { lines.append("Content-Type: application/json") }
        if !names.contains("content-length") { lines.append("Content-Length: \(body.count)") }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
    }

    // MARK: From raw observations to facts, timeline and verdicts

    static func assemble(
        scenario: Scenario, options: ReplayOptions, profile: ClientProfile, heartbeat: SSEHeartbeat,
        proxySettings: ProxySettingsSpec?, attempts: [ReplayAttempt], journal: JournalSnapshot, origin: NIODeadline,
        bound: Duration? = nil
    ) -> ReplayResult {
        let firstSend = attempts.first?.sentAt ?? origin
        func offset(_ deadline: NIODeadline) -> Duration { .nanoseconds((deadline - firstSend).nanoseconds) }

        var reads: [ReplayTimeline.ClientRead] = []
        var spans: [ReplayTimeline.Attempt] = []
        var maxGap = Duration.zero
        var heartbeatGaps: [Duration] = []
        var heartbeats = 0
        var bytes = 0
        var lastScanner = HeartbeatScanner(heartbeat: heartbeat)
        for (index, attempt) in attempts.enumerated() {
            var scanner = HeartbeatScanner(heartbeat: heartbeat)
            var previous = attempt.sentAt
            // A heartbeat's silence counts from the last body bytes (or the request): a proxy commits its head in
            // the same instant as its first heartbeat, so the head is no byte "before" it.
            var previousBody = attempt.sentAt
            for read in attempt.reads {
                let gap = Duration.nanoseconds((read.at - previous).nanoseconds)
                maxGap = max(maxGap, gap)
                let found = scanner.consume(read.body)
                let silence = Duration.nanoseconds((read.at - previousBody).nanoseconds)
                heartbeatGaps += Array(repeating: silence, count: found)
                if !read.body.isEmpty { previousBody = read.at }
                heartbeats += found
                bytes += read.bytes.count
                reads.append(
                    ReplayTimeline.ClientRead(
                        at: offset(read.at), byteCount: read.bytes.count, heartbeats: found,
                        completedHead: read.completedHead, attempt: index, preview: TimelineText.preview(read.bytes)))
                previous = read.at
            }
            maxGap = max(maxGap, .nanoseconds((attempt.endedAt - previous).nanoseconds))
            scanner.finish()
            lastScanner = scanner
            let timedOut: Bool
            let ending: String
            switch attempt.end {
            case .complete: (timedOut, ending) = (false, "complete")
            case .timedOut(let rule): (timedOut, ending) = (true, "gave up (\(rule.rawValue) timer)")
            case .closed(let reason): (timedOut, ending) = (false, reason)
            case .observationLimit: (timedOut, ending) = (false, "still open at the observation limit")
            }
            spans.append(
                ReplayTimeline.Attempt(
                    start: offset(attempt.sentAt), end: offset(attempt.endedAt), ending: ending,
                    deadline: attempt.lastDeadline.map { offset(attempt.sentAt) + $0.at },
                    deadlineRule: attempt.lastDeadline?.rule, timedOut: timedOut))
        }

        // The journal's requests that answer the client's, in order: attempt i ↔ i-th matching request.
        let method = scenario.spec?.request?.method ?? "POST"
        let path = upstreamPath(scenario.spec?.request?.path ?? "/v1/chat/completions", model: scenario.model)
        var matching: [(connection: ConnectionRecord, request: RequestRecord)] = []
        for connection in journal.connections {
            for request in connection.requests where request.method == method && request.path == path {
                matching.append((connection, request))
            }
        }
        var writes: [ReplayTimeline.UpstreamWrite] = []
        var closes: [Duration] = []
        for connection in journal.connections {
            for request in connection.requests {
                let attemptIndex = matching.firstIndex { $0.request == request }
                for write in request.writes {
                    let at = origin + .nanoseconds(request.arrival + write.offset)
                    writes.append(
                        ReplayTimeline.UpstreamWrite(
                            at: offset(at), byteCount: write.byteCount, attempt: attemptIndex,
                            preview: TimelineText.preview(write.bytes.bytes)))
                }
            }
            if let seen = connection.peerClose?.at ?? connection.closedAt {
                closes.append(offset(origin + .nanoseconds(seen)))
            }
        }
        writes.sort { $0.at < $1.at }

        let last = attempts.last
        var upstreamBody: [UInt8]?
        var closeDelay: Duration?
        if let last, let pair = matching.indices.contains(attempts.count - 1) ? matching[attempts.count - 1] : matching.last {
            let decoder = ResponseDecoder(requestMethod: method)
            for write in pair.request.writes { decoder.feed(write.bytes.bytes) }
            upstreamBody = decoder.body
            if let closedAt = last.clientClosedAt, let seen = pair.connection.peerClose?.at ?? pair.connection.closedAt {
                let delay = Duration.nanoseconds((origin + .nanoseconds(seen) - closedAt).nanoseconds)
                closeDelay = max(.zero, delay)
            }
        }

        let outcome: ClientOutcome
        switch last?.end {
        case .complete?: outcome = .completed(at: offset(last!.endedAt))
        case .timedOut(let rule)?: outcome = .timedOut(at: offset(last!.endedAt), rule: rule)
        case .closed(let reason)?: outcome = .failed(at: offset(last!.endedAt), reason: reason)
        case .observationLimit?, nil: outcome = .undecided(at: last.map { offset($0.endedAt) } ?? .zero)
        }
        let clientBody = lastScanner.withoutHeartbeats
        let rawClientBody = last?.reads.flatMap(\.body) ?? []
        let opened = Set((scenario.spec?.openGates ?? []).map(\.name))
        let facts = ReplayFacts(
            outcome: outcome, attempts: attempts.count, status: last?.head?.status, maxGap: maxGap,
            heartbeatGaps: heartbeatGaps, heartbeats: heartbeats, clientBody: clientBody, upstreamBody: upstreamBody,
            inBandError: Self.hasInBandError(clientBody), upstreamCloseDelay: closeDelay,
            clientClosed: last?.clientClosedAt != nil,
            heartbeatsInsideEvents: HeartbeatPlacement.insideEvents(
                client: rawClientBody, upstream: upstreamBody ?? [], heartbeat: heartbeat),
            upstreamRequests: matching.count,
            upstreamRequestsBeforeHealthy: JournalFacts.requestsBeforeHealthy(
                matching.map(\.request), journal: journal, healthPath: "/health"),
            blockedGate: JournalFacts.blockedGate(
                requests: matching.map(\.request), scenario: scenario, opened: opened),
            bound: bound)
        var proxied = false
        if case .proxied = options.topology { proxied = true }
        let evaluator = ExpectationEvaluator(
            timeScale: options.timeScale, slack: options.slack, proxied: proxied, proxySettings: proxySettings)
        let expectations = scenario.spec?.expect.map { evaluator.evaluate($0, facts: facts) } ?? []
        return ReplayResult(
            scenario: scenario.name, file: scenario.file, description: scenario.description,
            timeScale: options.timeScale, topology: options.topology.name, profile: profile,
            heartbeatComment: heartbeat.comment, outcome: outcome, attempts: attempts.count,
            status: facts.status, maxGap: maxGap, heartbeats: heartbeats, bytesReceived: bytes,
            expectations: expectations,
            timeline: ReplayTimeline(clientReads: reads, upstreamWrites: writes, attempts: spans, upstreamCloses: closes),
            facts: facts, attemptTimelines: attempts.map(attemptTimeline))
    }

    /// The path the upstream sees for the client's `target`: without the query, and without the proxy's
    /// `/upstream/{model}` prefix (that route forwards the rest of the path as is).
    static func upstreamPath(_ target: String, model: String) -> String {
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let prefix = "/upstream/\(model)/"
        return path.hasPrefix(prefix) ? "/" + path.dropFirst(prefix.count) : path
    }

    /// Whether an SSE body holds a `data: {"error":…}` line (the in-band error shape of the proxy and llama-server).
    static func hasInBandError(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body, as: UTF8.self)
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).contains { line in
            let data = line.hasPrefix("data: ") ? line.dropFirst(6) : line.hasPrefix("data:") ? line.dropFirst(5) : nil
            return data.map { $0.hasPrefix("{\"error\"") } ?? false
        }
    }

    /// The client's view of attempt `index` as an `AttemptTimeline`, for `ProfileEvaluator`.
    public static func attemptTimeline(_ attempt: ReplayAttempt) -> AttemptTimeline {
        let reads = attempt.reads.map { read in
            AttemptTimeline.Read(
                at: .nanoseconds((read.at - attempt.sentAt).nanoseconds), byteCount: read.bytes.count,
                completesHead: read.completedHead, hasBody: !read.body.isEmpty)
        }
        let endAt = Duration.nanoseconds((attempt.endedAt - attempt.sentAt).nanoseconds)
        let end: AttemptTimeline.End = switch attempt.end {
            case .complete: .complete(at: endAt)
            case .closed(let reason): .closed(at: endAt, reason: reason)
            case .timedOut, .observationLimit: .observedUntil(endAt)
        }
        return AttemptTimeline(reads: reads, end: end)
    }
}
