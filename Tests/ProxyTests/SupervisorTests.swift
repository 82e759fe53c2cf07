import Logging
import NIOConcurrencyHelpers
import Testing

@testable import Proxy

/// A model upstream without a process: starts when the test opens its gate (or at once), records what happened as
/// events the test awaits, and can "crash".
private actor FakeUpstream: SupervisedUpstream {
    nonisolated let config: ModelConfig
    private let fleet: FakeFleet
    private let onExit: @Sendable (Int) -> Void
    private(set) var starts = 0
    private(set) var running = false
    private var pendingStarts: [CheckedContinuation<Void, Never>] = []
    private var pendingStops: [CheckedContinuation<Void, Never>] = []

    init(config: ModelConfig, fleet: FakeFleet, onExit: @escaping @Sendable (Int) -> Void) {
        self.config = config
        self.fleet = fleet
        self.onExit = onExit
    }

    func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int {
        starts += 1
        let run = starts
        fleet.record("start \(config.id)")
        progress("fake load of \(config.id)")
        if fleet.holdsStarts(config.id) {
            await withCheckedContinuation { pendingStarts.append($0) }
        }
        if let failure = fleet.takeFailure(config.id) { throw UpstreamStartError(failure) }
        running = true
        fleet.record("ready \(config.id)")
        return run
    }

    func stop() async {
        let pending = pendingStarts
        pendingStarts = []
        for start in pending { start.resume() }
        if running && fleet.holdsStops(config.id) {
            fleet.record("stopping \(config.id)")
            await withCheckedContinuation { pendingStops.append($0) }
        }
        if running { fleet.record("stop \(config.id)") }
        running = false
    }

    func openStopGate() {
        let pending = pendingStops
        pendingStops = []
        for stop in pending { stop.resume() }
    }

    var processID: Int32? { running ? 4000 + Int32(starts) : nil }

    func openGate() {
        let pending = pendingStarts
        pendingStarts = []
        for start in pending { start.resume() }
    }

    var waitingStarts: Int { pendingStarts.count }

    func crash() {
        running = false
        fleet.record("crash \(config.id)")
        onExit(starts)
    }
}

/// The fakes a supervisor made, and the events they recorded, in order, for one reading test.
private final class FakeFleet: Sendable {
    private struct State {
        var upstreams: [String: FakeUpstream] = [:]
        var held: Set<String> = []
        var heldStops: Set<String> = []
        var failures: [String: UpstreamFailure] = [:]
        var events: [String] = []
        var read = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = NIOLockedValueBox(State())

    var factory: Supervisor.UpstreamFactory {
        { model, _, onExit in
            let upstream = FakeUpstream(config: model, fleet: self, onExit: onExit)
            self.state.withLockedValue { $0.upstreams[model.id] = upstream }
            return upstream
        }
    }

    func record(_ event: String) {
        let waiters = state.withLockedValue { state in
            state.events.append(event)
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The next event not read yet, waiting for it; `nil` (and the test fails on its expectation) after `timeout`.
    func next(timeout: Duration = .seconds(10)) async -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let event: String? = state.withLockedValue { state in
                guard state.read < state.events.count else { return nil }
                state.read += 1
                return state.events[state.read - 1]
            }
            if let event { return event }
            if clock.now >= deadline { return nil }
            let wake = Task {
                try? await Task.sleep(until: deadline, clock: clock)
                self.wakeAll()
            }
            await withCheckedContinuation { continuation in
                let ready = state.withLockedValue { state in
                    if state.read < state.events.count { return true }
                    state.waiters[state.nextWaiter] = continuation
                    state.nextWaiter += 1
                    return false
                }
                if ready { continuation.resume() }
            }
            wake.cancel()
        }
    }

    private func wakeAll() {
        let waiters = state.withLockedValue { state in
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func hold(_ id: String) { _ = state.withLockedValue { $0.held.insert(id) } }
    func holdsStarts(_ id: String) -> Bool { state.withLockedValue { $0.held.contains(id) } }
    func holdStops(_ id: String) { _ = state.withLockedValue { $0.heldStops.insert(id) } }
    func holdsStops(_ id: String) -> Bool { state.withLockedValue { $0.heldStops.contains(id) } }
    func failNextStart(_ id: String, _ failure: UpstreamFailure) { state.withLockedValue { $0.failures[id] = failure } }
    func takeFailure(_ id: String) -> UpstreamFailure? { state.withLockedValue { $0.failures.removeValue(forKey: id) } }
    func upstream(_ id: String) -> FakeUpstream? { state.withLockedValue { $0.upstreams[id] } }
}

private func model(_ id: String, ttl: Duration? = nil, limit: Int = 10, aliases: [String] = []) -> ModelConfig {
    ModelConfig(
        id: id, command: ["fake"], upstream: UpstreamURL(host: "127.0.0.1", port: 1),
        aliases: aliases.map { ModelAlias(id: $0) },
        ttl: ttl, concurrencyLimit: limit)
}

private func config(_ models: [ModelConfig], groups: [GroupConfig]? = nil) -> ProxyConfig {
    ProxyConfig(models: Dictionary(uniqueKeysWithValues: models.map { ($0.id, $0) }), groups: groups)
}

private let quiet = Logger(label: "supervisor-test") { _ in SwiftLogNoOpLogHandler() }

private func acquire(_ supervisor: Supervisor, _ model: String) async -> Result<UpstreamLease, UpstreamAcquireError> {
    do {
        return .success(try await supervisor.acquire(model: model, progress: { _ in }))
    } catch {
        return .failure(error)
    }
}

/// Whether `supervisor` lists no running model within 5 s (checked between yields; a stop finishes in the
/// supervisor's step after the upstream's `stop()` returns, so a test that saw the stop event waits for it).
private func stopped(_ supervisor: Supervisor) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if await supervisor.running().isEmpty { return true }
        await Task.yield()
    }
    return false
}

@Suite(.timeLimit(.minutes(1))) struct SupervisorTests {
    @Test func unknownModelIsRefusedAndAliasesResolve() async throws {
        let fleet = FakeFleet()
        let supervisor = Supervisor(
            config: config([model("llama", aliases: ["gpt-4"])]), logger: quiet, factory: fleet.factory)
        guard case .failure(.unknownModel("nope")) = await acquire(supervisor, "nope") else {
            Issue.record("expected unknownModel")
            return
        }
        let lease = try await supervisor.acquire(model: "gpt-4", progress: { _ in })
        #expect(lease.modelID == "llama")
        lease.release()
    }

    @Test func concurrentFirstRequestsJoinOneStart() async throws {
        let fleet = FakeFleet()
        fleet.hold("llama")
        let supervisor = Supervisor(config: config([model("llama")]), logger: quiet, factory: fleet.factory)
        let requests = (0..<8).map { _ in Task { await acquire(supervisor, "llama") } }
        #expect(await fleet.next() == "start llama")
        // Every request is counted before the gate opens: all eight are waiting on the one start.
        while await supervisor.running().first?.inFlight != 8 { await Task.yield() }
        await fleet.upstream("llama")!.openGate()
        var leases: [UpstreamLease] = []
        for request in requests { leases.append(try await request.value.get()) }
        #expect(await fleet.next() == "ready llama")
        #expect(await fleet.upstream("llama")!.starts == 1)
        #expect(leases.count == 8)
        for lease in leases { lease.release() }
    }

    @Test func overTheConcurrencyLimitIsRefusedWithRetryAfter() async throws {
        let fleet = FakeFleet()
        let supervisor = Supervisor(config: config([model("llama", limit: 2)]), logger: quiet, factory: fleet.factory)
        let first = try await supervisor.acquire(model: "llama", progress: { _ in })
        let second = try await supervisor.acquire(model: "llama", progress: { _ in })
        guard case .failure(.overConcurrencyLimit(let id, let limit, let retry)) = await acquire(supervisor, "llama")
        else {
            Issue.record("expected overConcurrencyLimit")
            return
        }
        #expect(id == "llama" && limit == 2 && retry >= 1)
        first.release()
        second.release()
    }

    @Test func swapWaitsForTheRequestOnTheEvictedModel() async throws {
        let fleet = FakeFleet()
        let supervisor = Supervisor(
            config: config(
                [model("llama"), model("qwen")], groups: [GroupConfig(id: "g", members: ["llama", "qwen"])]),
            logger: quiet, factory: fleet.factory)
        let llamaLease = try await supervisor.acquire(model: "llama", progress: { _ in })
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.next() == "ready llama")

        let messages = NIOLockedValueBox<[String]>([])
        let qwen = Task {
            try await supervisor.acquire(
                model: "qwen", progress: { step in messages.withLockedValue { $0.append(step.message) } })
        }
        while await supervisor.running().first(where: { $0.id == "qwen" }) == nil,
            messages.withLockedValue({ $0.isEmpty })
        {
            await Task.yield()
        }
        // qwen waits: llama serves a request, so nothing is stopped or started yet.
        #expect(await supervisor.running().map(\.id) == ["llama"])
        llamaLease.release()
        #expect(await fleet.next() == "stop llama")
        #expect(await fleet.next() == "start qwen")
        #expect(await fleet.next() == "ready qwen")
        let qwenLease = try await qwen.value
        #expect(qwenLease.modelID == "qwen")
        #expect(messages.withLockedValue { $0.contains { $0.contains("waiting for llama") } })
        #expect(await supervisor.running().map(\.id) == ["qwen"])
        qwenLease.release()
    }

    @Test func persistentGroupIsNotEvictedByAnExclusiveOne() async throws {
        let fleet = FakeFleet()
        let groups = [
            GroupConfig(id: "main", swap: true, exclusive: true, members: ["llama", "qwen"]),
            GroupConfig(id: "side", swap: false, exclusive: false, members: ["embed"]),
            GroupConfig(id: "keep", swap: false, exclusive: false, persistent: true, members: ["whisper"]),
        ]
        let supervisor = Supervisor(
            config: config([model("llama"), model("qwen"), model("embed"), model("whisper")], groups: groups),
            logger: quiet, factory: fleet.factory)
        for id in ["embed", "whisper"] {
            try await supervisor.acquire(model: id, progress: { _ in }).release()
            #expect(await fleet.next() == "start \(id)")
            #expect(await fleet.next() == "ready \(id)")
        }
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        // The exclusive group stops the side group's idle model, but not the persistent one.
        #expect(await fleet.next() == "stop embed")
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.next() == "ready llama")
        #expect(await supervisor.running().map(\.id) == ["llama", "whisper"])
        await supervisor.shutdown()
    }

    @Test func failedStartReachesEveryWaiterAndTheNextRequestTriesAgain() async throws {
        let fleet = FakeFleet()
        fleet.hold("llama")
        let failure = UpstreamFailure.healthCheckTimedOut(model: "llama", after: .seconds(1))
        fleet.failNextStart("llama", failure)
        let supervisor = Supervisor(config: config([model("llama")]), logger: quiet, factory: fleet.factory)
        let requests = (0..<3).map { _ in Task { await acquire(supervisor, "llama") } }
        #expect(await fleet.next() == "start llama")
        while await supervisor.running().first?.inFlight != 3 { await Task.yield() }
        await fleet.upstream("llama")!.openGate()
        for request in requests {
            guard case .failure(.failed(let reported)) = await request.value else {
                Issue.record("expected the start failure")
                continue
            }
            #expect(reported == failure)
        }
        #expect(await supervisor.running().isEmpty)

        let retry = Task { await acquire(supervisor, "llama") }
        #expect(await fleet.next() == "start llama")
        await fleet.upstream("llama")!.openGate()
        let lease = try await retry.value.get()
        #expect(await fleet.upstream("llama")!.starts == 2)
        lease.release()
    }

    @Test func crashedModelStartsAgainOnTheNextRequest() async throws {
        let fleet = FakeFleet()
        let supervisor = Supervisor(config: config([model("llama")]), logger: quiet, factory: fleet.factory)
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.next() == "ready llama")
        await fleet.upstream("llama")!.crash()
        #expect(await fleet.next() == "crash llama")
        #expect(await stopped(supervisor))
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.upstream("llama")!.starts == 2)
    }

    @Test func idleModelIsUnloadedAfterItsTTLButNotWhileServing() async throws {
        let fleet = FakeFleet()
        let ttl = Duration.milliseconds(200)
        let supervisor = Supervisor(config: config([model("llama", ttl: ttl)]), logger: quiet, factory: fleet.factory)
        let lease = try await supervisor.acquire(model: "llama", progress: { _ in })
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.next() == "ready llama")
        // Serving for three TTLs: never unloaded meanwhile.
        try await Task.sleep(for: ttl * 3)
        #expect(await supervisor.running().map(\.id) == ["llama"])
        let clock = ContinuousClock()
        let released = clock.now
        lease.release()
        #expect(await fleet.next() == "stop llama")
        let idle = clock.now - released
        #expect(idle >= ttl - .milliseconds(20), "unloaded after \(idle), before its ttl")
        #expect(idle < ttl + .seconds(3), "unloaded only after \(idle)")
    }

    @Test func cancelledWaiterLeavesTheLoadToTheOthers() async throws {
        let fleet = FakeFleet()
        fleet.hold("llama")
        let supervisor = Supervisor(config: config([model("llama")]), logger: quiet, factory: fleet.factory)
        let stays = Task { await acquire(supervisor, "llama") }
        let leaves = Task { await acquire(supervisor, "llama") }
        #expect(await fleet.next() == "start llama")
        while await supervisor.running().first?.inFlight != 2 { await Task.yield() }
        leaves.cancel()
        guard case .failure = await leaves.value else {
            Issue.record("a cancelled request must not get a lease")
            return
        }
        #expect(await supervisor.running().first?.inFlight == 1)
        await fleet.upstream("llama")!.openGate()
        let lease = try await stays.value.get()
        #expect(await fleet.upstream("llama")!.starts == 1)
        lease.release()
    }

    @Test func unloadStopsAtOnceAndUnknownNamesAreErrors() async throws {
        let fleet = FakeFleet()
        let groups = [GroupConfig(id: "side", swap: false, exclusive: false, members: ["a", "b"])]
        let supervisor = Supervisor(
            config: config([model("a"), model("b")], groups: groups), logger: quiet, factory: fleet.factory)
        let held = try await supervisor.acquire(model: "a", progress: { _ in })
        try await supervisor.acquire(model: "b", progress: { _ in }).release()
        for _ in 0..<4 { _ = await fleet.next() }
        #expect(await supervisor.running().map(\.id) == ["a", "b"])
        await #expect(throws: UpstreamAcquireError.unknownModel("c")) { try await supervisor.unload("c") }
        #expect(try await supervisor.unload("b") == ["b"])
        #expect(await supervisor.running().map(\.id) == ["a"])
        // As llama-swap's /unload: a model serving a request is stopped too.
        #expect(try await supervisor.unload() == ["a"])
        #expect(await supervisor.running().isEmpty)
        held.release()
    }

    @Test func shutdownStopsEverythingAndRefusesNewRequests() async throws {
        let fleet = FakeFleet()
        let groups = [GroupConfig(id: "side", swap: false, exclusive: false, members: ["a", "b"])]
        let supervisor = Supervisor(
            config: config([model("a"), model("b")], groups: groups), logger: quiet, factory: fleet.factory)
        let lease = try await supervisor.acquire(model: "a", progress: { _ in })
        try await supervisor.acquire(model: "b", progress: { _ in }).release()
        let shutdown = Task { await supervisor.shutdown(grace: .seconds(10)) }
        // The grace waits for the lease on a; b stays up meanwhile and new requests are refused.
        while case .success(let extra) = await acquire(supervisor, "b") {
            extra.release()
            await Task.yield()
        }
        guard case .failure(.shuttingDown) = await acquire(supervisor, "b") else {
            Issue.record("expected shuttingDown")
            return
        }
        lease.release()
        await shutdown.value
        #expect(await supervisor.running().isEmpty)
        #expect(await fleet.upstream("a")!.running == false)
        #expect(await fleet.upstream("b")!.running == false)
    }

    @Test func reloadStopsOnlyChangedModels() async throws {
        let fleet = FakeFleet()
        let groups = [GroupConfig(id: "side", swap: false, exclusive: false, members: ["a", "b"])]
        let supervisor = Supervisor(
            config: config([model("a"), model("b")], groups: groups), logger: quiet, factory: fleet.factory)
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        try await supervisor.acquire(model: "b", progress: { _ in }).release()
        for _ in 0..<4 { _ = await fleet.next() }
        var changedB = model("b")
        changedB.command = ["fake", "--new-flag"]
        await supervisor.reload(
            config(
                [model("a"), changedB, model("c")],
                groups: [
                    GroupConfig(id: "side", swap: false, exclusive: false, members: ["a", "b", "c"])
                ]))
        #expect(await fleet.next() == "stop b")
        #expect(await supervisor.running().map(\.id) == ["a"])
        let lease = try await supervisor.acquire(model: "b", progress: { _ in })
        #expect(await fleet.next() == "start b")
        #expect(fleet.upstream("b")!.config.command == ["fake", "--new-flag"])
        lease.release()
        try await supervisor.acquire(model: "c", progress: { _ in }).release()
        #expect(await supervisor.running().map(\.id) == ["a", "b", "c"])
        await supervisor.shutdown()
    }

    @Test func progressReachesTheWaitingRequests() async throws {
        let fleet = FakeFleet()
        let supervisor = Supervisor(config: config([model("llama")]), logger: quiet, factory: fleet.factory)
        let messages = NIOLockedValueBox<[LoadingProgress]>([])
        let lease = try await supervisor.acquire(
            model: "llama", progress: { step in messages.withLockedValue { $0.append(step) } })
        #expect(messages.withLockedValue { $0 } == [LoadingProgress(modelID: "llama", message: "fake load of llama")])
        lease.release()
    }

    @Test func ttlCountsOnTheInjectedClockFromTheLastRelease() async throws {
        let fleet = FakeFleet()
        let clock = SupervisorManualClock()
        let ttl = Duration.seconds(300)
        let supervisor = Supervisor(
            config: config([model("llama", ttl: ttl)]), logger: quiet, clock: clock, factory: fleet.factory)
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.next() == "ready llama")
        while clock.sleeperCount == 0 { await Task.yield() }
        // A request in between restarts the idle time.
        clock.advance(by: ttl - .seconds(1))
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: ttl - .seconds(1))
        #expect(await supervisor.running().map(\.id) == ["llama"])
        #expect(clock.sleeperCount == 1, "the unload must still be pending")
        clock.advance(by: .seconds(1))
        #expect(await fleet.next() == "stop llama")
        // The fake records the stop inside `stop()`; the supervisor marks the model stopped in its own step after.
        #expect(await stopped(supervisor), "the model must leave the running list once its stop returns")
    }

    @Test func requestDuringATTLUnloadWaitsForItAndStartsTheModelAgain() async throws {
        // llama-swap once wedged a model when a TTL unload raced a request.
        let fleet = FakeFleet()
        fleet.holdStops("llama")
        let clock = SupervisorManualClock()
        let supervisor = Supervisor(
            config: config([model("llama", ttl: .seconds(60))]), logger: quiet, clock: clock, factory: fleet.factory)
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        #expect(await fleet.next() == "start llama")
        #expect(await fleet.next() == "ready llama")
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(60))
        #expect(await fleet.next() == "stopping llama")
        let request = Task { await acquire(supervisor, "llama") }
        while await supervisor.running().first?.inFlight != 1 { await Task.yield() }
        #expect(await supervisor.running().first?.phase == .stopping)
        await fleet.upstream("llama")!.openStopGate()
        #expect(await fleet.next() == "stop llama")
        #expect(await fleet.next() == "start llama")
        let lease = try await request.value.get()
        #expect(await supervisor.running().first?.phase == .ready)
        #expect(await fleet.upstream("llama")!.starts == 2)
        lease.release()
    }
}
