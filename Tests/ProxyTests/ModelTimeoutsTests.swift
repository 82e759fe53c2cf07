import Testing

@testable import Proxy

/// llama-swap's transport `timeouts` of a model (`connect`, `keepalive`, `tlsHandshake`, `idleConn`) and a peer's
/// `idleConn`: read into the upstream connection's options, `0` turning one off; the pool's idle cap.
@Suite struct ModelTimeoutsTests {
    @Test func aModelsTransportTimeouts() throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a:
                proxy: http://127.0.0.1:9
                timeouts: {connect: 30, keepalive: 0, responseHeader: 60, tlsHandshake: 10, idleConn: 1m30s}
              b:
                proxy: http://127.0.0.1:9
                timeouts: {connect: 0, keepalive: 15s, idleConn: 0}
              c:
                proxy: http://127.0.0.1:9
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        let a = try #require(config.models["a"]).upstream.connection
        #expect(a.connectTimeout == .seconds(30) && a.keepAlive == nil && a.tlsHandshakeTimeout == .seconds(10))
        #expect(a.idleConnTimeout == .seconds(90))
        #expect(config.models["a"]?.responseHeaderTimeout == .seconds(60))
        let b = try #require(config.models["b"]).upstream.connection
        #expect(b.connectTimeout == nil && b.keepAlive == .seconds(15) && b.idleConnTimeout == nil)
        // Without timeouts: ours (10 s to connect, no probes, only the pool's own idle rule).
        #expect(config.models["c"]?.upstream.connection == UpstreamConnectionOptions())
        #expect(UpstreamConnectionOptions().connectTimeout == .seconds(10))
    }

    @Test func aPeersIdleConn() throws {
        let (config, warnings) = try loadConfig(
            """
            models: {}
            peers:
              p: {proxy: "http://127.0.0.1:9", models: [x]}
              q: {proxy: "http://127.0.0.1:9", models: [y], timeouts: {idleConn: 5}}
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(config.peers.map(\.idleConnTimeout) == [.seconds(90), .seconds(5)])
    }

    @Test(arguments: [
        (UpstreamExchange.Verdict.reuse(idleFor: .seconds(4)), Duration?.none, UpstreamExchange.Verdict.reuse(idleFor: .seconds(4))),
        (.reuse(idleFor: .seconds(4)), .milliseconds(300), .reuse(idleFor: .milliseconds(300))),
        (.reuse(idleFor: .seconds(1)), .seconds(90), .reuse(idleFor: .seconds(1))),
        (.close(.eventStream), .seconds(1), .close(.eventStream)),
    ])
    func theShorterExpiryWins(verdict: UpstreamExchange.Verdict, cap: Duration?, expected: UpstreamExchange.Verdict) {
        #expect(UpstreamExchange.capped(verdict, idleAtMost: cap) == expected)
    }
}
