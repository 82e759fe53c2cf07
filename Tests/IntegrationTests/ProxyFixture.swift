import FakeUpstream
import Harness
import Logging
import NIOCore
import Proxy
import RawHTTP
import TestSupport
import Wire

/// A provider that always answers with one fixed upstream, after an optional delay (a stand-in for a model load).
struct FixedUpstreamProvider: UpstreamProvider {
    var upstream: UpstreamURL
    var delay: Duration = .zero
    var failure: UpstreamAcquireError?

    func acquire(
        model: String,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        if delay > .zero {
            progress(LoadingProgress(modelID: model, message: "loading \(model)"))
            do { try await Task.sleep(for: delay) } catch { throw .shuttingDown }
        }
        if let failure { throw failure }
        return UpstreamLease(modelID: model, upstream: upstream, onRelease: {})
    }
}

/// A fake upstream playing one scenario, and the real proxy in front of it, both on loopback ephemeral ports.
struct ProxyFixture {
    let fake: FakeUpstreamServer
    let proxy: ProxyServer
    let proxyPort: Int
    let upstreamPort: Int

    static let model = "m"

    /// Starts both. `heartbeat` is the model's interval (`nil`: off).
    static func start(
        scenario yaml: String,
        heartbeat: Duration?,
        comment: String = "keepalive",
        sendLoadingState: Bool = false,
        acquireDelay: Duration = .zero,
        acquireFailure: UpstreamAcquireError? = nil,
        apiKeys: [String] = [],
        responseHeaderTimeout: Duration? = nil,
        streamIdleTimeout: Duration? = nil,
        metrics: ProxyMetrics = .disabled
    ) async throws -> ProxyFixture {
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "inline.yaml")
        let logger = Logger(label: "test")
        let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
        let upstreamPort = try await fake.start()
        let upstream = UpstreamURL(host: "127.0.0.1", port: upstreamPort)
        let model = ModelConfig(
            id: model,
            command: nil,
            upstream: upstream,
            sendLoadingState: sendLoadingState,
            heartbeat: HeartbeatSettings(interval: heartbeat, comment: comment),
            responseHeaderTimeout: responseHeaderTimeout,
            streamIdleTimeout: streamIdleTimeout
        )
        let config = ProxyConfig(apiKeys: apiKeys, models: [Self.model: model])
        let provider = FixedUpstreamProvider(upstream: upstream, delay: acquireDelay, failure: acquireFailure)
        let proxy = ProxyServer(
            router: ProxyRouter(config: config, provider: provider, metrics: metrics), port: 0, logger: logger)
        let proxyPort = try await proxy.start()
        return ProxyFixture(fake: fake, proxy: proxy, proxyPort: proxyPort, upstreamPort: upstreamPort)
    }

    func stop() async {
        await proxy.stop(grace: .zero)
        try? await fake.stop()
    }

    /// Sends a chat completion request to the proxy (or, with `direct`, to the fake) and returns the client.
    func send(
        stream: Bool = true,
        body: String? = nil,
        path: String = "/v1/chat/completions",
        direct: Bool = false,
        headers: String = ""
    ) async throws -> (client: RawTCPClient, sentAt: NIODeadline) {
        let client = try await RawTCPClient.connect(port: direct ? upstreamPort : proxyPort)
        let json = body ?? "{\"model\":\"\(Self.model)\",\"stream\":\(stream),\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
        let request =
            "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\n\(headers)\r\n\(json)"
        let sentAt = try await client.send(request)
        return (client, sentAt)
    }
}

extension RawTCPClient {
    /// Waits until a whole HTTP response has arrived (or the connection ended) and decodes it.
    ///
    /// `timeout` only bounds a hang, so it is no claim: by default 15 s × the timing factor. Under TSan (five times
    /// slower, two tests at a time) a 2 MiB body that is sniffed off the loop was answered after 16.4 s while three
    /// others were, and an unscaled 15 s failed a correct proxy.
    func response(timeout: Duration? = nil) async throws -> TimedResponse {
        let timeout = timeout ?? TimingSlack.scaled(.seconds(15))
        let received = try await waitFor(timeout: timeout, "a complete response") { received in
            received.ending != nil || (TimedResponse(received)?.complete ?? false)
        }
        guard let response = TimedResponse(received) else {
            throw ResponseError(description: "no HTTP response head in \(received.text.prefix(200))")
        }
        return response
    }
}

struct ResponseError: Error, CustomStringConvertible {
    var description: String
}

/// Heartbeat arithmetic on a decoded body, with the harness's boundary-aware ``HeartbeatScanner``: a heartbeat
/// counts only between events, so `: keepalive\n\n` bytes inside an event stay in the body and make a comparison
/// with the upstream's bytes fail — which is the point (deleting the bytes anywhere could not see that).
enum Heartbeats {
    /// The body with every heartbeat between events removed, and how many there were.
    static func scan(_ body: [UInt8], comment: String = "keepalive") -> (body: String, count: Int) {
        var scanner = HeartbeatScanner(heartbeat: try! SSEHeartbeat(comment: comment))
        scanner.consume(body)
        scanner.finish()
        return (String(decoding: scanner.withoutHeartbeats, as: UTF8.self), scanner.count)
    }

    /// Arrival times of every heartbeat (one entry per heartbeat, also when a slow reader got several in one read).
    static func times(in response: TimedResponse, comment: String = "keepalive") -> [NIODeadline] {
        var scanner = HeartbeatScanner(heartbeat: try! SSEHeartbeat(comment: comment))
        return response.pieces.flatMap { piece -> [NIODeadline] in
            Array(repeating: piece.at, count: scanner.consume(piece.bytes))
        }
    }

    /// The first piece that carries anything besides heartbeats (the upstream's first bytes).
    static func firstData(in response: TimedResponse, comment: String = "keepalive") -> TimedResponse.Piece? {
        var scanner = HeartbeatScanner(heartbeat: try! SSEHeartbeat(comment: comment))
        return response.pieces.first { piece in
            let before = scanner.withoutHeartbeats.count
            scanner.consume(piece.bytes)
            return scanner.withoutHeartbeats.count > before
        }
    }

    /// Gaps between consecutive times (and from `start` to the first), in milliseconds.
    static func gapsMilliseconds(_ times: [NIODeadline], from start: NIODeadline) -> [Double] {
        var previous = start
        return times.map { time in
            defer { previous = time }
            return Double(time.uptimeNanoseconds - previous.uptimeNanoseconds) / 1e6
        }
    }
}
