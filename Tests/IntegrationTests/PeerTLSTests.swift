import DurationMath
import FakeUpstream
import Foundation
import Logging
import NIOCore
import NIOPosix
import RawHTTP
import TestSupport
import Testing

@testable import Proxy

/// Peers end to end over real sockets: a client asks a near proxy (plain HTTP) for `far/m`; the near proxy relays it
/// over HTTPS to a far proxy (TLS serving with a certificate made at test time, `apiKeys` required) in front of a
/// fake llama-server. The near proxy trusts the test CA through ``UpstreamTLS`` (no user-facing key).
///
/// The exact rules (key injection, body rename, bounds to the nanosecond) are in `ProxyTests/PeerRelayTests` under
/// driven time; these keep what only real sockets and real TLS show, with bounds stretched by TEST_TIMING_SCALE.
@Suite(.serialized) struct PeerTLSTests {
    static let farKey = "far-secret"
    static let interval = TimingSlack.scaled(.milliseconds(300))
    static let eventA = "data: {\\\"choices\\\":[{\\\"index\\\":0,\\\"delta\\\":{\\\"content\\\":\\\"Hel\\\"}}]}\\n\\n"
    static let eventB = "data: {\\\"choices\\\":[{\\\"index\\\":0,\\\"delta\\\":{\\\"content\\\":\\\"lo\\\"}}]}\\n\\n"
    static let upstreamBody =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
        + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n" + "data: [DONE]\n\n"

    /// The far side: a fake upstream that is silent for `prefill`, then streams two events; a TLS proxy with
    /// `apiKeys: [farKey]` and no heartbeats of its own in front of it.
    struct Far {
        let fake: FakeUpstreamServer
        let proxy: ProxyServer
        let port: Int

        static func start(certificates: TLSTestCertificates, prefill: Duration) async throws -> Far {
            let logger = Logger(label: "far")
            let scenario = try ScenarioParser.parse(
                yaml: """
                    description: a silent prefill, then two events
                    responses:
                      - match: {path: /v1/chat/completions}
                        steps:
                          - wait: \(prefill.nanoseconds / 1_000_000)ms
                          - status: 200
                            headers: {Content-Type: text/event-stream}
                          - write: "\(PeerTLSTests.eventA)"
                          - write: "\(PeerTLSTests.eventB)"
                          - write: "data: [DONE]\\n\\n"
                          - end: close
                    """, file: "far.yaml")
            let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
            let fakePort = try await fake.start()
            let upstream = UpstreamURL(host: "127.0.0.1", port: fakePort)
            let model = ModelConfig(
                id: "m", command: nil, upstream: upstream, heartbeat: HeartbeatSettings(interval: nil))
            let router = ProxyRouter(
                config: ProxyConfig(apiKeys: [PeerTLSTests.farKey], models: ["m": model]),
                provider: FixedUpstreamProvider(upstream: upstream))
            let tls = try ServerTLS(certificateFile: certificates.certificateFile, keyFile: certificates.keyFile)
            let proxy = ProxyServer(router: router, port: 0, logger: logger, tls: tls)
            return Far(fake: fake, proxy: proxy, port: try await proxy.start())
        }

        func stop() async {
            await proxy.stop(grace: .zero)
            try? await fake.stop()
        }
    }

    /// A near proxy (plain HTTP) loaded from `yaml`, trusting `ca` for https peers (nil: the system's store only).
    static func near(yaml: String, trusting ca: TLSTestCertificates?) async throws -> (ProxyServer, Int) {
        let (config, warnings) = try ConfigLoader.load(yaml: yaml, file: "near.yaml", environment: [:])
        #expect(!warnings.contains { "\($0)".contains("does not support") }, "\(warnings)")
        let router = ProxyRouter(
            config: config,
            provider: FixedUpstreamProvider(
                upstream: UpstreamURL(host: "127.0.0.1", port: 1), failure: .unknownModel("local")))
        let trust = try ca.map { UpstreamTLS(additionalTrustRoots: [try $0.ca]) } ?? UpstreamTLS()
        let server = ProxyServer(router: router, port: 0, logger: Logger(label: "near"), upstreamTLS: trust)
        return (server, try await server.start())
    }

    static func nearYAML(farPort: Int, extraPeers: String = "") -> String {
        """
        heartbeatInterval: \(interval.nanoseconds / 1_000_000)ms
        models:
          local:
            proxy: http://127.0.0.1:1
        peers:
          far:
            proxy: https://localhost:\(farPort)
            apiKey: \(farKey)
            models: [m]
          wrongkey:
            proxy: https://localhost:\(farPort)
            apiKey: not-the-key
            models: [m2]
        \(extraPeers)
        """
    }

    static func post(
        port: Int, model: String, stream: Bool, path: String = "/v1/chat/completions", timeout: Duration = .seconds(20)
    ) async throws -> TimedResponse {
        let client = try await RawTCPClient.connect(port: port)
        let json = "{\"model\":\"\(model)\",\"stream\":\(stream),\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
        _ = try await client.send(
            "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Authorization: Bearer the-clients-own-key\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)")
        return try await client.response(timeout: TimingSlack.scaled(timeout))
    }

    /// The acceptance test: `far/m` streams through the near proxy over HTTPS with the near proxy's heartbeats while
    /// the far fake is silent, the key reaches the far proxy (which refuses requests without it), the body is the
    /// fake's, byte for byte, and the bare name `m` (served by one peer only) reaches the same model.
    @Test func peerStreamOverTLSGetsHeartbeatsAndTheInjectedKey() async throws {
        let certificates = try TLSTestCertificates.make()
        defer { certificates.remove() }
        let far = try await Far.start(certificates: certificates, prefill: TimingSlack.scaled(.milliseconds(1500)))
        defer { Task { await far.stop() } }
        let (near, nearPort) = try await Self.near(yaml: Self.nearYAML(farPort: far.port), trusting: certificates)
        defer { Task { await near.stop(grace: .zero) } }

        let response = try await Self.post(port: nearPort, model: "far/m", stream: true)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/event-stream")
        #expect(response.complete)
        let scanned = Heartbeats.scan(response.body)
        #expect(scanned.body == Self.upstreamBody, "\(response.bodyText)")
        // 1500 ms of silence at a 300 ms interval: about four heartbeats; two are certain on any machine.
        let firstData = try #require(Heartbeats.firstData(in: response))
        let before = Heartbeats.times(in: response).filter { $0 < firstData.at }
        #expect(before.count >= 2, "heartbeats while the far upstream was silent: \(before.count)")

        // The bare id: only peer 'far' serves 'm' (and no local model is called so).
        let bare = try await Self.post(port: nearPort, model: "m", stream: false)
        #expect(bare.status == 200, "\(bare.bodyText)")
        #expect(bare.bodyText == Self.upstreamBody)

        // The far proxy refuses another key: the near proxy's injected key is what let the requests above through
        // (the client's own Authorization was replaced).
        let refused = try await Self.post(port: nearPort, model: "wrongkey/m2", stream: false)
        #expect(refused.status == 401, "\(refused.bodyText)")
        #expect(refused.bodyText.contains("invalid or missing API key"))

        // GET /v1/models lists the peer models as llama-swap does.
        let client = try await RawTCPClient.connect(port: nearPort)
        _ = try await client.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let list = try await client.response(timeout: TimingSlack.scaled(.seconds(10))).bodyText
        #expect(list.contains("{\"id\":\"far/m\",\"object\":\"model\""), "\(list)")
        #expect(list.contains("\"name\":\"far: m\",\"meta\":{\"llamaswap\":{\"type\":\"peer\",\"peerID\":\"far\"}}"))
    }

    /// A peer nobody listens on: a 502 envelope before anything was committed (the refusal is immediate, long before
    /// the first heartbeat is due).
    @Test func deadPeerIsA502EnvelopeBeforeTheCommit() async throws {
        let deadPort = try freePort()
        let (near, nearPort) = try await Self.near(
            yaml: Self.nearYAML(
                farPort: deadPort,
                extraPeers: "  dead:\n    proxy: https://localhost:\(deadPort)\n    models: [gone]\n"),
            trusting: nil)
        defer { Task { await near.stop(grace: .zero) } }
        for stream in [false, true] {
            let response = try await Self.post(port: nearPort, model: "dead/gone", stream: stream)
            #expect(response.status == 502, "\(response.bodyText)")
            #expect(response.header("content-type")?.hasPrefix("application/json") == true)
            #expect(response.bodyText.hasPrefix("{\"error\":{\"message\":\"upstream for model 'dead/gone' refused"))
            #expect(response.bodyText.contains("\"code\":502"))
        }
    }

    /// A peer that accepts the TCP connection and never answers the TLS handshake: the near proxy commits `200` with a
    /// heartbeat, and when the peer's `timeouts.tlsHandshake` passes the client gets exactly one in-band error event
    /// and a clean end.
    @Test func silentPeerAfterTheCommitIsOneInBandErrorEvent() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        let handshake = TimingSlack.scaled(.milliseconds(1200))
        let (near, nearPort) = try await Self.near(
            yaml: Self.nearYAML(
                farPort: port,
                extraPeers: "  silent:\n    proxy: https://127.0.0.1:\(port)\n    models: [hush]\n"
                    + "    timeouts: {tlsHandshake: \(handshake.nanoseconds / 1_000_000)ms}\n"),
            trusting: nil)
        defer { Task { await near.stop(grace: .zero) } }

        let response = try await Self.post(port: nearPort, model: "silent/hush", stream: true)
        #expect(response.status == 200)
        #expect(response.complete, "a clean end of the chunked body")
        let scanned = Heartbeats.scan(response.body)
        #expect(scanned.count >= 2, "heartbeats during the handshake wait: \(scanned.count)")
        let errors = scanned.body.components(separatedBy: "data: {\"error\":").count - 1
        #expect(errors == 1, "\(scanned.body)")
        #expect(scanned.body.contains("TLS handshake with 127.0.0.1:\(port) did not finish"), "\(scanned.body)")
        #expect(scanned.body.contains("\"code\":502"))
    }

    /// The far proxy's certificate is not signed by anything the system trusts: without the test CA the near proxy
    /// refuses the connection (502, the verification error named), so the trust is what the first test relied on.
    @Test func untrustedCertificateIsRefused() async throws {
        let certificates = try TLSTestCertificates.make()
        defer { certificates.remove() }
        let far = try await Far.start(certificates: certificates, prefill: .zero)
        defer { Task { await far.stop() } }
        let (near, nearPort) = try await Self.near(yaml: Self.nearYAML(farPort: far.port), trusting: nil)
        defer { Task { await near.stop(grace: .zero) } }
        let response = try await Self.post(port: nearPort, model: "far/m", stream: false)
        #expect(response.status == 502, "\(response.bodyText)")
        #expect(response.bodyText.contains("TLS handshake with localhost:\(far.port) failed"), "\(response.bodyText)")
    }

    /// The host name is checked against the certificate: a certificate for another name is refused when the peer is
    /// named `localhost` (the first test's certificate names `localhost` only, so it passes only if the name is sent
    /// and matched).
    @Test func certificateForAnotherNameIsRefused() async throws {
        let certificates = try TLSTestCertificates.make(names: ["DNS:other.example"])
        defer { certificates.remove() }
        let far = try await Far.start(certificates: certificates, prefill: .zero)
        defer { Task { await far.stop() } }
        let (near, nearPort) = try await Self.near(yaml: Self.nearYAML(farPort: far.port), trusting: certificates)
        defer { Task { await near.stop(grace: .zero) } }
        let response = try await Self.post(port: nearPort, model: "far/m", stream: false)
        #expect(response.status == 502, "\(response.bodyText)")
        #expect(response.bodyText.contains("TLS handshake with localhost:\(far.port) failed"), "\(response.bodyText)")
    }

    /// `timeouts.keepalive` reaches the socket: keep-alive on, probes after 7 s of silence and every 7 s; a local
    /// upstream's connection keeps the socket's default (off).
    @Test func keepAliveReachesThePeerSocket() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        let port = try #require(listener.localAddress?.port)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func options(_ target: UpstreamURL) async throws -> (keepAlive: Int, idle: Int, interval: Int) {
            let channel = try await BootstrapUpstreamConnector().connect(to: target, on: loop) {
                $0.eventLoop.makeSucceededVoidFuture()
            }.get()
            defer { channel.close(promise: nil) }
            return (
                try await channel.getOption(.socketOption(.so_keepalive)),
                try await channel.getOption(BootstrapUpstreamConnector.tcpKeepIdle),
                try await channel.getOption(BootstrapUpstreamConnector.tcpKeepInterval)
            )
        }
        var peer = UpstreamURL(host: "127.0.0.1", port: port)
        peer.connection.keepAlive = .seconds(7)
        let set = try await options(peer)
        #expect(set.keepAlive != 0 && set.idle == 7 && set.interval == 7, "\(set)")
        let local = try await options(UpstreamURL(host: "127.0.0.1", port: port))
        #expect(local.keepAlive == 0, "\(local)")
    }
}
