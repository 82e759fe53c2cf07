import Logging
import MetricsTestKit
import NIOConcurrencyHelpers
import Testing

@testable import Proxy

/// The supervisor's metrics as exact counts: starts (ok and failed) with their durations, a swap, a crash and a ttl
/// unload, with fake upstreams (no process) and swift-metrics' `TestMetrics`.
@Suite(.timeLimit(.minutes(1))) struct MetricsSupervisorTests {
    typealias Name = ProxyMetrics.Name

    /// A model upstream that starts at once (or fails when told) and whose crash the test triggers.
    final class Fakes: Sendable {
        let exits = NIOLockedValueBox<[String: @Sendable (Int) -> Void]>([:])
        let failing = NIOLockedValueBox<Set<String>>([])

        var factory: Supervisor.UpstreamFactory {
            { model, _, onExit in
                self.exits.withLockedValue { $0[model.id] = onExit }
                return Fake(config: model, fakes: self)
            }
        }

        func crash(_ id: String) { exits.withLockedValue { $0[id] }?(1) }
    }

    struct Fake: SupervisedUpstream {
        let config: ModelConfig
        let fakes: Fakes
        func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int {
            if fakes.failing.withLockedValue({ $0.contains(config.id) }) {
                throw UpstreamStartError(.startFailed(model: config.id, detail: "told to fail"))
            }
            return 1
        }
        func stop() async {}
        var processID: Int32? { get async { nil } }
    }

    static func model(_ id: String, ttl: Duration? = nil) -> ModelConfig {
        ModelConfig(id: id, command: ["fake"], upstream: UpstreamURL(host: "127.0.0.1", port: 1), ttl: ttl)
    }

    static func supervisor(_ models: [ModelConfig], fakes: Fakes, test: TestMetrics) async -> Supervisor {
        let config = ProxyConfig(
            models: Dictionary(uniqueKeysWithValues: models.map { ($0.id, $0) }),
            groups: [GroupConfig(id: "g", members: models.map(\.id))])
        let supervisor = Supervisor(
            config: config, logger: Logger(label: "q") { _ in SwiftLogNoOpLogHandler() }, factory: fakes.factory)
        await supervisor.useMetrics(ProxyMetrics(factory: test))
        return supervisor
    }

    /// Polls `condition` (the supervisor reports from its own tasks) for up to 10 s.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    static func count(_ test: TestMetrics, _ label: String, _ dimensions: [(String, String)]) -> Int64 {
        test.counterTotal(label: label, dimensions: dimensions)
    }

    @Test func startsSwapsAndCrashesAreCounted() async throws {
        let (fakes, test) = (Fakes(), TestMetrics())
        let supervisor = await Self.supervisor([Self.model("a"), Self.model("b")], fakes: fakes, test: test)
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        #expect(Self.count(test, Name.starts, [("model", "a"), ("result", "ok")]) == 1)
        #expect(try test.expectTimer(Name.startDuration, [("model", "a")]).values.count == 1)
        #expect(test.counters(label: Name.swaps).isEmpty, "nothing to stop for the first model")

        try await supervisor.acquire(model: "b", progress: { _ in }).release()
        #expect(Self.count(test, Name.swaps, [("model", "b")]) == 1)
        #expect(Self.count(test, Name.starts, [("model", "b"), ("result", "ok")]) == 1)

        fakes.crash("b")
        #expect(await Self.eventually { Self.count(test, Name.crashes, [("model", "b")]) == 1 })
        #expect(Self.count(test, Name.crashes, [("model", "a")]) == 0)
        await supervisor.shutdown()
    }

    @Test func failedStartIsCountedAsFailed() async throws {
        let (fakes, test) = (Fakes(), TestMetrics())
        _ = fakes.failing.withLockedValue { $0.insert("a") }
        let supervisor = await Self.supervisor([Self.model("a")], fakes: fakes, test: test)
        await #expect(throws: UpstreamAcquireError.self) {
            try await supervisor.acquire(model: "a", progress: { _ in })
        }
        #expect(Self.count(test, Name.starts, [("model", "a"), ("result", "failed")]) == 1)
        #expect(Self.count(test, Name.starts, [("model", "a"), ("result", "ok")]) == 0)
        await supervisor.shutdown()
    }

    @Test func ttlUnloadIsCounted() async throws {
        let (fakes, test) = (Fakes(), TestMetrics())
        let supervisor = await Self.supervisor([Self.model("a", ttl: .milliseconds(50))], fakes: fakes, test: test)
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        #expect(await Self.eventually { Self.count(test, Name.ttlUnloads, [("model", "a")]) == 1 })
        #expect(test.counters(label: Name.crashes).isEmpty, "an unload is no crash")
        await supervisor.shutdown()
    }
}
