import Foundation
import Logging
import Proxy
import Testing

/// Each swap engine end to end: a config loaded from YAML (`routing.router`), a real `Supervisor`, real
/// `harness serve` children. Which models run and which child processes live is read from the supervisor and the
/// kernel. (The group engine with groups built in code: `SupervisorIntegrationTests.swapsTwoModelsOfOneGroup` and
/// `exclusiveGroupEvictsOthersButNotPersistentOnes`.)
@Suite(.timeLimit(.minutes(2)))
struct SwapEngineIntegrationTests {
    /// `pair: a & b`, `solo: c`: a, then b (both run, a's process untouched), then c (a and b stop first).
    @Test func matrixKeepsASetTogetherAndEvictsItForAnother() async throws {
        let fixture = try EngineFixture(models: ["a", "b", "c"])
        let supervisor = try fixture.supervisor(
            routing: """
                routing:
                  router:
                    use: matrix
                    settings:
                      matrix:
                        sets:
                          pair: "a & b"
                          solo: c
                """)
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        try await settle(supervisor)
        let pidA = try #require(await supervisor.running().first?.pid)

        try await supervisor.acquire(model: "b", progress: { _ in }).release()
        try await settle(supervisor)
        let pair = await supervisor.running()
        // `running()` lists stopping models too: both must be ready.
        #expect(pair.map(\.id) == ["a", "b"] && pair.allSatisfy { $0.phase == .ready }, "\(pair)")
        #expect(pair.first?.pid == pidA && isAlive(pidA), "a must keep its process beside b")
        let pidB = try #require(pair.last?.pid)

        let lease = try await supervisor.acquire(model: "c", progress: { _ in })
        #expect(await supervisor.running().map(\.id) == ["c"])
        #expect(!isAlive(pidA) && !isAlive(pidB), "a and b must be stopped before c starts")
        #expect(
            supervisor.logs.snapshot().contains {
                $0.contains("matrix swap: model=c set=solo dsl=\"c\" keep=[] evict=[a b] cost=2")
            }, "\(supervisor.logs.snapshot().suffix(8))")
        lease.release()
        await supervisor.shutdown()
    }

    /// A model the matrix evicts but that serves a request is not stopped under it: c waits for a's lease.
    @Test func matrixWaitsForAnEvictedModelServingARequest() async throws {
        let fixture = try EngineFixture(models: ["a", "c"])
        let supervisor = try fixture.supervisor(
            routing: """
                routing:
                  router:
                    use: matrix
                    settings:
                      matrix:
                        sets: {one: a, other: c}
                """)
        let leaseA = try await supervisor.acquire(model: "a", progress: { _ in })
        let pidA = try #require(await supervisor.running().first?.pid)
        let waiting = Task { try await supervisor.acquire(model: "c", progress: { _ in }) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(isAlive(pidA), "a was stopped while it served a request")
        #expect(await supervisor.running().map(\.id) == ["a"], "c started beside a")

        leaseA.release()
        let leaseC = try await waiting.value
        #expect(await supervisor.running().map(\.id) == ["c"])
        #expect(!isAlive(pidA))
        leaseC.release()
        await supervisor.shutdown()
    }

    /// `routing.router.use: group` with `settings.groups` from YAML: a swap within a group, a side group untouched.
    @Test func groupEngineSwapsWithinAGroupFromRoutingSettings() async throws {
        let fixture = try EngineFixture(models: ["a", "b", "side"])
        let supervisor = try fixture.supervisor(
            routing: """
                routing:
                  router:
                    use: group
                    settings:
                      groups:
                        pair: {swap: true, exclusive: false, members: [a, b]}
                        tools: {swap: false, exclusive: false, members: [side]}
                """)
        try await supervisor.acquire(model: "side", progress: { _ in }).release()
        try await settle(supervisor)
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        try await settle(supervisor)
        let before = await supervisor.running()
        #expect(before.map(\.id) == ["a", "side"] && before.allSatisfy { $0.phase == .ready }, "\(before)")
        let pidA = try #require(before.first?.pid)
        let pidSide = try #require(before.last?.pid)

        let lease = try await supervisor.acquire(model: "b", progress: { _ in })
        let after = await supervisor.running()
        #expect(after.map(\.id) == ["b", "side"] && after.allSatisfy { $0.phase == .ready }, "\(after)")
        #expect(!isAlive(pidA), "a must be stopped before b starts")
        #expect(after.last?.pid == pidSide && isAlive(pidSide), "the side group must keep its process")
        lease.release()
        await supervisor.shutdown()
    }
}

/// Waits until no running model has a request in flight: `UpstreamLease.release()` reaches the supervisor in a task
/// of its own, and a model still counted as serving is never evicted (the next request would then prove nothing
/// about the engine's choice).
private func settle(_ supervisor: Supervisor) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(10)
    while await supervisor.running().contains(where: { $0.inFlight > 0 }) {
        guard clock.now < deadline else {
            Issue.record("a released lease is still counted in flight")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Models served by `harness serve`, loaded from YAML with `${PORT}` from a free range.
private final class EngineFixture: Sendable {
    let directory: URL
    let models: String

    init(models ids: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swap-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lines = ["startPort: \(try freePortRange(ids.count))", "models:"]
        for id in ids {
            let scenario = directory.appendingPathComponent("\(id).yaml").path
            try "description: \"\(id) for swap engine tests\"\n".write(
                toFile: scenario, atomically: true, encoding: .utf8)
            lines.append("  \(id):")
            lines.append("    cmd: \(BuiltProducts.path(of: "harness")) serve --scenario \(scenario) --port ${PORT}")
        }
        models = lines.joined(separator: "\n") + "\n"
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func supervisor(routing: String) throws -> Supervisor {
        let (config, warnings) = try ConfigLoader.load(yaml: models + routing, file: "config.yaml")
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        return Supervisor(
            config: config, logger: Logger(label: "swap-engine-integration") { _ in SwiftLogNoOpLogHandler() },
            processOptions: Supervisor.ProcessOptions(
                stopGrace: .seconds(3), pollInterval: .milliseconds(100), pollTimeout: .seconds(2)))
    }
}
