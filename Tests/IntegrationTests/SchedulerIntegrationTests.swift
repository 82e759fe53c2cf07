import Foundation
import Logging
import Proxy
import Testing

/// `routing.scheduler` end to end: a config loaded from YAML, a real `Supervisor`, real `harness serve` children in
/// llama-swap's default group (one model at a time). Which request gets the freed slot is read from the leases and
/// the supervisor's queue.
@Suite(.timeLimit(.minutes(2)))
struct SchedulerIntegrationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var scheduler: String
        var first: String
        var second: String
        var testDescription: String { "\(first) before \(second)\(scheduler.isEmpty ? " (no priority)" : "")" }
    }

    static let cases = [
        // b arrives first, c has the higher priority: c takes a's slot.
        Case(
            scheduler: """
                routing:
                  scheduler:
                    use: fifo
                    settings:
                      fifo:
                        priority: {c: 10, b: 1}
                """, first: "c", second: "b"),
        // The control: no priority, first come first served.
        Case(scheduler: "", first: "b", second: "c"),
    ]

    /// a serves a request; b, then c, wait for a's slot; when a's request ends, the first in priority order gets
    /// the swap, and the other waits until that one's request ends too.
    @Test(arguments: cases) func theHigherPriorityWaiterTakesTheFreedSlot(_ testCase: Case) async throws {
        let fixture = try ChildModelsFixture(models: ["a", "b", "c"])
        let supervisor = try fixture.supervisor(extra: testCase.scheduler)
        let leaseA = try await supervisor.acquire(model: "a", progress: { _ in })
        let pidA = try #require(await supervisor.running().first?.pid)

        let b = Task { try await supervisor.acquire(model: "b", progress: { _ in }) }
        try await untilHolds { await supervisor.queued() == ["b"] }
        let c = Task { try await supervisor.acquire(model: "c", progress: { _ in }) }
        try await untilHolds { await supervisor.queued().count == 2 }
        #expect(await supervisor.queued() == [testCase.first, testCase.second])
        let runningBefore = await supervisor.running().map(\.id)
        #expect(isAlive(pidA) && runningBefore == ["a"], "a stopped while it served")

        leaseA.release()
        // The one admitted leaves the queue when its model starts; the other stays queued behind it.
        try await untilHolds { await supervisor.queued().count < 2 }
        let left = await supervisor.queued()
        #expect(left == [testCase.second], "the other request must still wait")
        let admitted = ["b", "c"].first { !left.contains($0) } ?? testCase.first
        #expect(admitted == testCase.first)
        let tasks = ["b": b, "c": c]
        let first = try await tasks[admitted]!.value
        #expect(first.modelID == admitted)
        #expect(await supervisor.running().map(\.id) == [admitted])
        #expect(await supervisor.queued() == left, "the other request must wait for the first one's request")
        #expect(!isAlive(pidA))

        first.release()
        let second = try await tasks[admitted == "b" ? "c" : "b"]!.value
        #expect(await supervisor.running().map(\.id) == [second.modelID])
        second.release()
        await supervisor.shutdown()
    }
}

/// Polls `condition` every 10 ms for up to 10 s; records an issue and throws when it never holds.
func untilHolds(_ what: String = #function, _ condition: () async -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(10)
    while !(await condition()) {
        guard clock.now < deadline else {
            Issue.record("condition never held (\(what))")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Models served by `harness serve` (one empty scenario each), loaded from YAML with `${PORT}` from a free range,
/// plus whatever YAML a test adds.
final class ChildModelsFixture: Sendable {
    let directory: URL
    let models: String

    init(models ids: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sched-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lines = ["startPort: \(try freePortRange(ids.count))", "models:"]
        for id in ids {
            let scenario = directory.appendingPathComponent("\(id).yaml").path
            try "description: \"\(id) for scheduler tests\"\n".write(toFile: scenario, atomically: true, encoding: .utf8)
            lines.append("  \(id):")
            lines.append("    cmd: \(BuiltProducts.path(of: "harness")) serve --scenario \(scenario) --port ${PORT}")
        }
        models = lines.joined(separator: "\n") + "\n"
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func config(extra: String) throws -> ProxyConfig {
        let (config, warnings) = try ConfigLoader.load(yaml: models + extra, file: "config.yaml")
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        return config
    }

    func supervisor(extra: String) throws -> Supervisor {
        Supervisor(
            config: try config(extra: extra),
            logger: Logger(label: "scheduler-integration") { _ in SwiftLogNoOpLogHandler() },
            processOptions: Supervisor.ProcessOptions(
                stopGrace: .seconds(3), pollInterval: .milliseconds(100), pollTimeout: .seconds(2)))
    }
}
