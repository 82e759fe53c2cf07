import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import Proxy

/// The fast-lease tests' clock: ``SupervisorManualClock``, whose sleepers' deadlines tell a re-armed TTL timer from
/// the old one.
typealias FastLeaseClock = SupervisorManualClock

/// A model upstream without a process for the fast-lease tests: starts at once or when the test opens its gate,
/// stops at once or when the test opens the stop gate, can crash, and records every step in its fleet.
actor FastLeaseUpstream: SupervisedUpstream {
    nonisolated let config: ModelConfig
    private let fleet: FastLeaseFleet
    private let onExit: @Sendable (Int) -> Void
    private(set) var starts = 0
    private(set) var running = false
    private var pendingStarts: [CheckedContinuation<Void, Never>] = []
    private var pendingStops: [CheckedContinuation<Void, Never>] = []

    init(config: ModelConfig, fleet: FastLeaseFleet, onExit: @escaping @Sendable (Int) -> Void) {
        self.config = config
        self.fleet = fleet
        self.onExit = onExit
    }

    func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int {
        starts += 1
        let run = starts
        fleet.record("start \(config.id)")
        if fleet.holdsStarts(config.id) { await withCheckedContinuation { pendingStarts.append($0) } }
        running = true
        fleet.record("ready \(config.id)")
        return run
    }

    func stop() async {
        for start in pendingStarts { start.resume() }
        pendingStarts = []
        // What the request path saw of this model as its stop began.
        fleet.stopBegan(config.id)
        if running && fleet.holdsStops(config.id) {
            fleet.record("stopping \(config.id)")
            await withCheckedContinuation { pendingStops.append($0) }
        }
        if running { fleet.record("stop \(config.id)") }
        running = false
    }

    func openGate() {
        for start in pendingStarts { start.resume() }
        pendingStarts = []
    }

    func openStopGate() {
        for stop in pendingStops { stop.resume() }
        pendingStops = []
    }

    var processID: Int32? { running ? 4000 + Int32(starts) : nil }

    func crash() {
        running = false
        fleet.record("crash \(config.id)")
        onExit(starts)
    }
}

/// The fakes a supervisor made and the events they recorded, in order.
final class FastLeaseFleet: Sendable {
    private struct State {
        var upstreams: [String: FastLeaseUpstream] = [:]
        var held: Set<String> = []
        var heldStops: Set<String> = []
        var events: [String] = []
        var read = 0
        var inFlightAtStop: [String: [Int]] = [:]
    }
    private let state = NIOLockedValueBox(State())
    /// Read when a stop begins: the supervisor's board (set once the supervisor exists).
    let board = NIOLockedValueBox<ModelStateBoard?>(nil)

    var factory: Supervisor.UpstreamFactory {
        { model, _, onExit in
            let upstream = FastLeaseUpstream(config: model, fleet: self, onExit: onExit)
            self.state.withLockedValue { $0.upstreams[model.id] = upstream }
            return upstream
        }
    }

    func record(_ event: String) { state.withLockedValue { $0.events.append(event) } }

    func stopBegan(_ id: String) {
        let inFlight = board.withLockedValue { $0?.current[id]?.inFlight ?? 0 }
        state.withLockedValue { $0.inFlightAtStop[id, default: []].append(inFlight) }
    }

    /// The requests in flight on `id` each time one of its stops began.
    func inFlightAtStop(_ id: String) -> [Int] { state.withLockedValue { $0.inFlightAtStop[id] ?? [] } }

    var events: [String] { state.withLockedValue { $0.events } }

    /// The next event not read yet, polling (bounded); `nil` after `timeout`.
    func next(timeout: Duration = .seconds(10)) async -> String? {
        let limit = ContinuousClock.now + timeout
        while true {
            let event: String? = state.withLockedValue { state in
                guard state.read < state.events.count else { return nil }
                state.read += 1
                return state.events[state.read - 1]
            }
            if let event { return event }
            if ContinuousClock.now >= limit { return nil }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The events not read yet, without waiting.
    func unread() -> [String] {
        state.withLockedValue { state in
            defer { state.read = state.events.count }
            return Array(state.events[state.read...])
        }
    }

    func hold(_ id: String) { _ = state.withLockedValue { $0.held.insert(id) } }
    func holdsStarts(_ id: String) -> Bool { state.withLockedValue { $0.held.contains(id) } }
    func holdStops(_ id: String) { _ = state.withLockedValue { $0.heldStops.insert(id) } }
    func holdsStops(_ id: String) -> Bool { state.withLockedValue { $0.heldStops.contains(id) } }
    func upstream(_ id: String) -> FastLeaseUpstream? { state.withLockedValue { $0.upstreams[id] } }
}

enum FastLeaseFixtures {
    static let quiet = Logger(label: "supervisor-fast-test") { _ in SwiftLogNoOpLogHandler() }

    static func model(
        _ id: String, ttl: Duration? = nil, limit: Int = 10, aliases: [String] = [], port: Int = 1,
        useModelName: String? = nil
    ) -> ModelConfig {
        var model = ModelConfig(
            id: id, command: ["fake"], upstream: UpstreamURL(host: "127.0.0.1", port: port),
            aliases: aliases.map { ModelAlias(id: $0) }, ttl: ttl, concurrencyLimit: limit)
        model.useModelName = useModelName
        return model
    }

    static func config(_ models: [ModelConfig], groups: [GroupConfig]? = nil) -> ProxyConfig {
        ProxyConfig(models: Dictionary(uniqueKeysWithValues: models.map { ($0.id, $0) }), groups: groups)
    }

    /// Two models that swap each other out (one group, `swap: true`).
    static func swapping(_ a: ModelConfig, _ b: ModelConfig) -> ProxyConfig {
        config([a, b], groups: [GroupConfig(id: "g", members: [a.id, b.id])])
    }

    /// Models that run side by side.
    static func sideBySide(_ models: [ModelConfig]) -> ProxyConfig {
        config(models, groups: [GroupConfig(id: "side", swap: false, exclusive: false, members: models.map(\.id))])
    }

    static func supervisor(
        _ config: ProxyConfig, fleet: FastLeaseFleet, clock: any Clock<Duration> = ContinuousClock()
    ) -> Supervisor {
        let supervisor = Supervisor(config: config, logger: quiet, clock: clock, factory: fleet.factory)
        fleet.board.withLockedValue { $0 = supervisor.board }
        return supervisor
    }

    /// Starts `id` through the async path and releases that lease: the model is ready and idle.
    static func warm(_ supervisor: Supervisor, _ id: String) async throws {
        try await supervisor.acquire(model: id, progress: { _ in }).release()
        let limit = ContinuousClock.now + .seconds(10)
        while supervisor.board.current[id]?.inFlight ?? 0 > 0 {
            if ContinuousClock.now >= limit {
                Issue.record("\(id) still has requests in flight")
                return
            }
            await Task.yield()
        }
    }

    /// Whether a fast lease on `model` is granted now (one that is, is released at once: a failing test leaks none).
    static func leasable(_ supervisor: Supervisor, _ model: String, pinned: ConfigSnapshot? = nil) -> Bool {
        guard let lease = supervisor.tryAcquireReady(model: model, pinned: pinned) else { return false }
        lease.release()
        return true
    }

    static func acquire(_ supervisor: Supervisor, _ model: String) async -> Result<UpstreamLease, UpstreamAcquireError> {
        do {
            return .success(try await supervisor.acquire(model: model, progress: { _ in }))
        } catch {
            return .failure(error)
        }
    }
}

/// Runs `body` on `threads` threads of its own (not the cooperative pool's, which the supervisor needs meanwhile)
/// and returns when all are done.
func onThreads(_ threads: Int, _ body: @escaping @Sendable (Int) -> Void) async {
    let remaining = NIOLockedValueBox(threads)
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        for index in 0..<threads {
            let thread = Thread {
                body(index)
                if remaining.withLockedValue({ remaining in
                    remaining -= 1
                    return remaining == 0
                }) {
                    done.resume()
                }
            }
            thread.start()
        }
    }
}
