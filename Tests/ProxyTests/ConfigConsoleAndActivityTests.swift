import NIOConcurrencyHelpers
import Testing

@testable import Proxy

/// llama-swap's `logToStdout`, `captureBuffer` and `metricsMaxInMemory`: read (errors located), and acted on — the
/// activity store's sizes and the log buffer's copy of upstream output.
@Suite struct ConfigConsoleAndActivityTests {
    @Test func defaultsAreOurs() throws {
        let (config, warnings) = try loadConfig("models: {}")
        #expect(warnings.isEmpty)
        #expect(config.logToStdout == .proxy)
        let store = ActivityStore(settings: config)
        #expect(store.capacity == 500 && store.captureBudget == 4 << 20 && store.captureLimit == 256 << 10)
    }

    @Test(arguments: [
        ("proxy", LogToStdout.proxy, true, false), ("upstream", .upstream, false, true), ("both", .both, true, true),
        ("none", .none, false, false),
    ])
    func logToStdout(text: String, mode: LogToStdout, proxy: Bool, upstream: Bool) throws {
        let (config, warnings) = try loadConfig("logToStdout: \"\(text)\"\nmodels: {}")
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(config.logToStdout == mode)
        #expect(mode.includesProxy == proxy && mode.includesUpstream == upstream)
    }

    /// (captureBuffer, metricsMaxInMemory) → the store's capacity, budget and per-capture limit.
    @Test(arguments: [
        ("captureBuffer: 15\nmetricsMaxInMemory: 1000", 1000, 15 << 20, 256 << 10),
        ("captureBuffer: 0", 500, 0, 0),
        ("metricsMaxInMemory: 0", 1000, 4 << 20, 256 << 10),
        ("metricsMaxInMemory: -3\ncaptureBuffer: 1", 1000, 1 << 20, 256 << 10),
        ("metricsMaxInMemory: 7", 7, 4 << 20, 256 << 10),
    ])
    func activitySizes(yaml: String, capacity: Int, budget: Int, limit: Int) throws {
        let (config, warnings) = try loadConfig(yaml + "\nmodels: {}")
        #expect(warnings.isEmpty, "\(warnings)")
        let store = ProxyRouter(config: config, provider: FixedUpstreamProvider()).activity
        #expect(store.capacity == capacity)
        #expect(store.captureBudget == budget)
        #expect(store.captureLimit == limit)
    }

    @Test(
        arguments: [
            ("logToStdout: stderr\nmodels: {}", "test.yaml:1:14: logToStdout: expected one of proxy, upstream, both, none, got 'stderr'"),
            ("captureBuffer: -1\nmodels: {}", "test.yaml:1:16: captureBuffer: expected a whole number from 0 to 1048576"),
            ("captureBuffer: 1.5\nmodels: {}", "test.yaml:1:16: captureBuffer: expected a whole number"),
            ("metricsMaxInMemory: lots\nmodels: {}", "test.yaml:1:21: metricsMaxInMemory: expected a whole number, got 'lots'"),
        ] as [(String, String)])
    func badValuesAreLocatedErrors(yaml: String, expected: String) throws {
        let error = try #require(configError(yaml))
        #expect(error.description.hasPrefix(expected), "\(error)")
    }

    /// Upstream lines go to the mirror as printed; the proxy's own lines do not; `/logs` keeps both.
    @Test func theLogBufferMirrorsUpstreamLinesOnly() {
        let mirrored = NIOLockedValueBox([String]())
        let logs = LogBuffer(upstreamMirror: { line in mirrored.withLockedValue { $0.append(line) } })
        logs.append("starting m", source: "proxy")
        logs.append("main: server is listening on 127.0.0.1:5800", source: "m")
        logs.append("srv  update_slots: all slots are idle", source: "org/other")
        #expect(mirrored.withLockedValue { $0 } == [
            "main: server is listening on 127.0.0.1:5800", "srv  update_slots: all slots are idle",
        ])
        #expect(logs.snapshot().count == 3)
    }
}
