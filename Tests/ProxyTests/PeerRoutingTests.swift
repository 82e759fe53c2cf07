import LocatedYAML
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// Peers as llama-swap names and loads them: which name reaches which peer model, what the relay is told, what a
/// config may not say (located errors), and how `GET /v1/models` lists them.
@Suite struct PeerRoutingTests {
    static func load(_ yaml: String) throws -> (ProxyConfig, [ConfigWarning]) {
        try ConfigLoader.load(yaml: yaml, file: "p.yaml", environment: ["KEY": "sk-env"])
    }

    static let config = """
        heartbeatInterval: 2s
        streamIdleTimeout: 5m
        models:
          local:
            proxy: http://127.0.0.1:9001
          shared:
            proxy: http://127.0.0.1:9002
        peers:
          alpha:
            proxy: https://api.example/v1base
            apiKey: ${env.KEY}
            models: [m, shared, both, org/model]
            filters: {stripParams: "temperature"}
          beta:
            proxy: http://10.0.0.2:8080
            models: [both, only-beta]
            timeouts: {connect: 3, responseHeader: 0, tlsHandshake: 4, streamIdle: 90, keepalive: 5, idleConn: 9}
        """

    @Test func namesResolveAsInLlamaSwap() throws {
        let (config, _) = try Self.load(Self.config)
        func resolved(_ name: String) -> String? {
            PeerRouting.resolve(name, in: config.peers).map { "\($0.peer.id) \($0.model)" }
        }
        #expect(resolved("alpha/m") == "alpha m")
        #expect(resolved("m") == "alpha m", "a bare id one peer serves")
        #expect(resolved("only-beta") == "beta only-beta")
        #expect(resolved("both") == nil, "two peers serve it: only the qualified names reach it")
        #expect(resolved("alpha/both") == "alpha both" && resolved("beta/both") == "beta both")
        #expect(resolved("alpha/org/model") == "alpha org/model", "model ids may contain /")
        #expect(resolved("org/model") == "alpha org/model")
        #expect(resolved("gamma/m") == nil && resolved("alpha/") == nil && resolved("") == nil)
    }

    @Test func localModelsWinAndPeerRequestsCarryThePeersSettings() throws {
        let (config, _) = try Self.load(Self.config)
        let router = ProxyRouter(
            config: config, provider: FixedUpstreamProvider(upstream: UpstreamURL(host: "127.0.0.1", port: 9001)))
        func decide(_ model: String) -> ProxyRouter.Decision {
            let body = "{\"model\":\"\(model)\",\"stream\":true}"
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions?x=1")
            head.headers.add(name: "Content-Type", value: "application/json")
            return router.decide(ProxyRequest(head: head, body: ByteBuffer(string: body), arrival: .now()))
        }
        // 'shared' is a local model and a model of alpha: the local one wins (llama-swap dispatches local first).
        guard case .relay(let local) = decide("shared") else { Issue.record("not relayed"); return }
        #expect(local.peer == nil)

        guard case .relay(let alpha) = decide("alpha/m") else { Issue.record("not relayed"); return }
        let target = try #require(alpha.peer)
        #expect(target.upstream.description == "https://api.example:443/v1base" && target.upstream.usesTLS)
        #expect(target.upstream.hostHeader == "api.example")
        #expect(target.model == "m" && target.qualifiedName == "alpha/m" && target.apiKey == "sk-env")
        #expect(
            target.upstream.connection
                == UpstreamConnectionOptions(connectTimeout: .seconds(30), keepAlive: .seconds(30)).idleAtMost(.seconds(90)))
        #expect(alpha.requestedModel == "alpha/m" && alpha.stream && alpha.forwardURI == "/v1/chat/completions?x=1")
        #expect(alpha.heartbeatInterval == .seconds(2), "the global heartbeat")
        #expect(alpha.responseHeaderTimeout == .seconds(60), "llama-swap's peer default")
        #expect(alpha.streamIdleTimeout == .seconds(300), "the global streamIdleTimeout")
        #expect(alpha.filters.stripParams == ["temperature"] && !alpha.sendLoadingState)

        guard case .relay(let beta) = decide("only-beta") else { Issue.record("not relayed"); return }
        let betaTarget = try #require(beta.peer)
        #expect(betaTarget.apiKey == nil && !betaTarget.upstream.usesTLS)
        #expect(betaTarget.upstream.hostHeader == "10.0.0.2:8080")
        #expect(
            betaTarget.upstream.connection
                == UpstreamConnectionOptions(
                    connectTimeout: .seconds(3), tlsHandshakeTimeout: .seconds(4), keepAlive: .seconds(5)
                ).idleAtMost(.seconds(9)))
        #expect(beta.responseHeaderTimeout == nil && beta.streamIdleTimeout == .seconds(90))

        guard case .respond(let missing) = decide("both") else { Issue.record("answered"); return }
        #expect(missing.status == 404)
    }

    @Test func peersLoadWithoutNotSupportedWarnings() throws {
        let (config, warnings) = try Self.load(Self.config)
        #expect(config.peers.map(\.id) == ["alpha", "beta"])
        #expect(warnings.isEmpty, "\(warnings)")
    }

    static let errors: [(String, String)] = [
        (
            "peers:\n  p: {proxy: \"https://\", models: [m]}\n",
            "x.yaml:5:14: peers.p.proxy: expected a host name or address after https://, got 'https://'"
        ),
        (
            "peers:\n  p: {proxy: \"https://h:99999\", models: [m]}\n",
            "x.yaml:5:14: peers.p.proxy: expected a port from 1 to 65535, got '99999'"
        ),
        ("peers:\n  p: {proxy: \"http://h\", models: [\"\"]}\n", "x.yaml:5:35: peers.p.models: a model id cannot be empty"),
        (
            "peers:\n  a: {proxy: \"http://h\", models: [b/c]}\n  a/b: {proxy: \"http://i\", models: [c]}\n",
            "x.yaml:6:37: peers.a/b.models: the peer model name 'a/b/c' is ambiguous between peers.a model 'b/c' and peers.a/b model 'c'"
        ),
        (
            "peers:\n  x: {proxy: \"http://h\", models: [m]}\n",
            "x.yaml:5:35: peers.x.models: the peer model name 'x/m' is already a model id; rename one of them"
        ),
        (
            "peers:\n  p: {proxy: \"http://h\", models: [m], timeouts: {connect: -1}}\n",
            "x.yaml:5:59: peers.p.timeouts.connect: expected a duration >= 0, got '-1'"
        ),
    ]

    @Test(arguments: errors)
    func mistakesAreLocatedErrors(yaml: String, expected: String) {
        let base = "models:\n  x/m:\n    proxy: http://127.0.0.1:1\n"
        var message = "no error"
        do {
            _ = try ConfigLoader.load(yaml: base + yaml, file: "x.yaml", environment: [:])
        } catch {
            message = "\(error)"
        }
        #expect(message.hasPrefix(expected), "\(message)")
    }

    @Test func modelListShowsPeerModelsAsLlamaSwapDoes() throws {
        let (config, _) = try Self.load(Self.config)
        let list = AdminResponses.modelList(config, states: [:], created: 7)
        #expect(
            list.contains(
                "{\"id\":\"beta/only-beta\",\"object\":\"model\",\"created\":7,\"owned_by\":\"llama-swap\","
                    + "\"name\":\"beta: only-beta\",\"meta\":{\"llamaswap\":{\"type\":\"peer\",\"peerID\":\"beta\"}},"
                    + "\"status\":{\"value\":\"unloaded\"}}"), "\(list)")
        let ids = list.components(separatedBy: "{\"id\":\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(
            ids == [
                "alpha/both", "alpha/m", "alpha/org/model", "alpha/shared", "beta/both", "beta/only-beta", "local",
                "shared",
            ])
    }

    @Test func credentialsReplaceTheClientsOnlyWithAKey() {
        var headers = HTTPHeaders([
            ("Authorization", "Bearer client"), ("X-Api-Key", "client"), ("x-api-key", "again"), ("Accept", "*/*"),
        ])
        let upstream = UpstreamURL(host: "h", port: 1)
        PeerTarget(upstream: upstream, model: "m", qualifiedName: "p/m", apiKey: nil).injectCredentials(into: &headers)
        #expect(headers["authorization"] == ["Bearer client"] && headers["x-api-key"] == ["client", "again"])
        PeerTarget(upstream: upstream, model: "m", qualifiedName: "p/m", apiKey: "sk").injectCredentials(into: &headers)
        #expect(headers["authorization"] == ["Bearer sk"] && headers["x-api-key"] == ["sk"])
        #expect(headers["accept"] == ["*/*"])
    }

    @Test func queryModelRewriteKeepsTheOtherParameters() {
        #expect(PeerRouting.replacingModel(in: "model=p%2Fm&a=1", with: "m") == "model=m&a=1")
        #expect(PeerRouting.replacingModel(in: "a=%20&model=x&&b", with: "org/m x") == "a=%20&model=org%2Fm%20x&&b")
        #expect(PeerRouting.replacingModel(in: "models=x", with: "m") == "models=x")
    }
}

extension UpstreamConnectionOptions {
    /// The options with `idleConnTimeout` set (tests).
    func idleAtMost(_ limit: Duration?) -> UpstreamConnectionOptions {
        var options = self
        options.idleConnTimeout = limit
        return options
    }
}
