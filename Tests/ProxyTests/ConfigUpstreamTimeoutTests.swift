import LocatedYAML
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// Item 9: `responseHeaderTimeout` and `streamIdleTimeout` (global, durations) and llama-swap's per-model
/// `timeouts.responseHeader` (seconds), `streamIdleTimeout` / `timeouts.streamIdle`.
@Suite struct ConfigUpstreamTimeoutTests {
    static let thirtyMinutes = Duration.seconds(30 * 60)

    @Test func defaultsAreThirtyMinutes() throws {
        let (config, warnings) = try loadConfig("models: {a: {proxy: 'http://h:1'}}")
        #expect(config.responseHeaderTimeout == Self.thirtyMinutes)
        #expect(config.streamIdleTimeout == Self.thirtyMinutes)
        #expect(config.models["a"]?.responseHeaderTimeout == Self.thirtyMinutes)
        #expect(config.models["a"]?.streamIdleTimeout == Self.thirtyMinutes)
        #expect(warnings.isEmpty)
    }

    @Test func modelsOverrideTheGlobalValues() throws {
        let (config, warnings) = try loadConfig(
            """
            responseHeaderTimeout: 2m
            streamIdleTimeout: 45s
            models:
              inherits: {proxy: 'http://h:1'}
              own: {proxy: 'http://h:2', timeouts: {responseHeader: 300}, streamIdleTimeout: 10s}
              llamaSwapStyle: {proxy: 'http://h:3', timeouts: {responseHeader: 90, streamIdle: 20}}
              both: {proxy: 'http://h:4', timeouts: {streamIdle: 20}, streamIdleTimeout: 7s}
              off: {proxy: 'http://h:5', timeouts: {responseHeader: 0}, streamIdleTimeout: 0}
            """)
        #expect(warnings.isEmpty)
        func bounds(_ id: String) -> [Duration?] {
            [config.models[id]?.responseHeaderTimeout, config.models[id]?.streamIdleTimeout]
        }
        #expect(bounds("inherits") == [.seconds(120), .seconds(45)])
        #expect(bounds("own") == [.seconds(300), .seconds(10)])
        #expect(bounds("llamaSwapStyle") == [.seconds(90), .seconds(20)])
        #expect(bounds("both") == [.seconds(120), .seconds(7)], "the top-level model key wins over timeouts.streamIdle")
        #expect(bounds("off") == [nil, nil])
    }

    @Test func zeroGloballyDisablesAndModelsMayTurnBack() throws {
        let (config, _) = try loadConfig(
            """
            responseHeaderTimeout: 0
            streamIdleTimeout: '0s'
            models:
              a: {proxy: 'http://h:1'}
              b: {proxy: 'http://h:2', timeouts: {responseHeader: 60}, streamIdleTimeout: 1m}
            """)
        #expect(config.responseHeaderTimeout == nil)
        #expect(config.streamIdleTimeout == nil)
        #expect(config.models["a"]?.responseHeaderTimeout == nil)
        #expect(config.models["a"]?.streamIdleTimeout == nil)
        #expect(config.models["b"]?.responseHeaderTimeout == .seconds(60))
        #expect(config.models["b"]?.streamIdleTimeout == .seconds(60))
    }

    /// An unknown key in a model's timeouts is a likely typo, warned at its key (llama-swap's transport timeouts are
    /// read: ModelTimeoutsTests).
    @Test(arguments: [
        ("respnseHeader", "unknown key 'respnseHeader' in the timeouts of model 'a' is ignored; did you mean 'responseHeader'?"),
        ("idelConn", "unknown key 'idelConn' in the timeouts of model 'a' is ignored; did you mean 'idleConn'?"),
    ])
    func unsupportedTimeoutsWarnByName(key: String, message: String) throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a:
                proxy: 'http://h:1'
                timeouts:
                  responseHeader: 30
                  \(key): 10
            """)
        #expect(config.models["a"]?.responseHeaderTimeout == .seconds(30))
        #expect(warnings.map(\.message) == [message])
        #expect(warnings.first?.location == SourceLocation(file: "test.yaml", line: 6, column: 7))
        #expect(warnings.first?.keyPath == "models.a.timeouts.\(key)")
    }

    @Test(arguments: [
        ("responseHeaderTimeout: -1\nmodels: {}", 1, 24, "responseHeaderTimeout: expected"),
        ("streamIdleTimeout: soon\nmodels: {}", 1, 20, "streamIdleTimeout: expected"),
        ("models:\n  a:\n    proxy: 'http://h:1'\n    timeouts: {responseHeader: '-5'}", 4, 32,
         "models.a.timeouts.responseHeader: expected"),
        ("models:\n  a:\n    proxy: 'http://h:1'\n    timeouts: {streamIdle: [1]}", 4, 28,
         "models.a.timeouts.streamIdle: expected"),
        ("models:\n  a:\n    proxy: 'http://h:1'\n    streamIdleTimeout: 5 parsecs", 4, 24,
         "models.a.streamIdleTimeout: expected"),
        ("models:\n  a:\n    proxy: 'http://h:1'\n    timeouts: 30", 4, 15, "models.a.timeouts: expected"),
    ])
    func badValuesAreLocatedErrors(yaml: String, line: Int, column: Int, prefix: String) throws {
        let error = try #require(configError(yaml))
        #expect(error.location == SourceLocation(file: "test.yaml", line: line, column: column))
        #expect(error.message.hasPrefix(prefix), "\(error.message)")
    }

    /// The router hands a model's bounds to its relay.
    @Test func routerPassesTheModelsBoundsToTheRelay() throws {
        let (config, _) = try loadConfig(
            "models: {a: {proxy: 'http://h:1', timeouts: {responseHeader: 9}, streamIdleTimeout: 4s}}")
        let router = ProxyRouter(config: config, provider: FixedUpstreamProvider())
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions")
        head.headers.add(name: "Content-Type", value: "application/json")
        let request = ProxyRequest(
            head: head, body: ByteBuffer(string: "{\"model\":\"a\",\"stream\":true}"), arrival: .uptimeNanoseconds(0))
        guard case .relay(let settings) = router.decide(request) else {
            Issue.record("not relayed")
            return
        }
        #expect(settings.responseHeaderTimeout == .seconds(9))
        #expect(settings.streamIdleTimeout == .seconds(4))
    }
}
