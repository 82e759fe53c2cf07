import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Proxy

private typealias F = FastLeaseFixtures

/// A provider that counts the requests that reached the async path, around a real supervisor.
private struct CountingProvider: UpstreamProvider {
    let inner: Supervisor
    let asyncCalls = NIOLockedValueBox(0)

    func acquire(model: String, progress: @escaping @Sendable (LoadingProgress) -> Void)
        async throws(UpstreamAcquireError) -> UpstreamLease
    {
        try await acquire(model: model, pinned: nil, progress: progress)
    }

    func acquire(
        model: String, pinned: ConfigSnapshot?, progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        asyncCalls.withLockedValue { $0 += 1 }
        return try await inner.acquire(model: model, pinned: pinned, progress: progress)
    }

    func tryAcquireReady(model: String, pinned: ConfigSnapshot?) -> UpstreamLease? {
        inner.tryAcquireReady(model: model, pinned: pinned)
    }
}

/// Metrics that call `onSwap` when the supervisor counts a swap: that count is taken in the very actor turn that read
/// the counts to plan the swap and before it stops the evicted models, so a test can try a fast lease exactly there.
private final class SwapTripwire: MetricsFactory, Sendable {
    private final class Handler: CounterHandler, Sendable {
        let action: @Sendable () -> Void
        init(action: @escaping @Sendable () -> Void) { self.action = action }
        func increment(by: Int64) { action() }
        func reset() {}
    }

    let onSwap: @Sendable () -> Void
    init(onSwap: @escaping @Sendable () -> Void) { self.onSwap = onSwap }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        label == ProxyMetrics.Name.swaps ? Handler(action: onSwap) : NOOPMetricsHandler.instance
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

@Suite(.timeLimit(.minutes(1))) struct SupervisorFastLeaseTests {
    @Test func aReadyModelIsLeasedAtOnceWithTheAsyncPathsAnswer() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(
            F.config([F.model("llama", aliases: ["gpt"], port: 7001, useModelName: "llama-3")]), fleet: fleet)
        try await F.warm(supervisor, "llama")

        let lease = try #require(supervisor.tryAcquireReady(model: "gpt", pinned: nil))
        #expect(lease.modelID == "llama")
        #expect(lease.upstream == UpstreamURL(host: "127.0.0.1", port: 7001))
        #expect(lease.forwardedModelName == "llama-3")
        // Counted at once, where the router and GET /running look.
        #expect(supervisor.board.current["llama"] == SelectorChoice.TargetState(phase: .ready, inFlight: 1))
        #expect(await supervisor.running().first?.inFlight == 1)

        let second = try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil))
        lease.release()
        lease.release()  // a second call is a no-op: the other lease still counts
        #expect(supervisor.board.current["llama"]?.inFlight == 1)
        second.release()
        #expect(supervisor.board.current["llama"]?.inFlight == 0)
        #expect(!F.leasable(supervisor, "nope"))
        #expect(fleet.upstream("llama")!.config.id == "llama")
        #expect(await fleet.upstream("llama")!.starts == 1)
    }

    @Test func theRequesterAnswersOnTheLoopBeforeReturningAndNeverEntersTheAsyncPath() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.sideBySide([F.model("ready"), F.model("cold")]), fleet: fleet)
        try await F.warm(supervisor, "ready")
        let provider = CountingProvider(inner: supervisor)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()

        let answeredInline = try await loop.submit {
            let answered = NIOLoopBoundBox(false, eventLoop: loop)
            _ = ProviderLeaseRequester(provider: provider, eventLoop: loop).requestLease(
                model: "ready", progress: { _ in },
                completion: { result in
                    answered.value = true
                    try? result.get().release()
                })
            return answered.value
        }.get()
        #expect(answeredInline)
        #expect(provider.asyncCalls.withLockedValue { $0 } == 0)

        // A cold model: no synchronous answer; the async path starts it and answers on the loop.
        let answer = loop.makePromise(of: String.self)
        let inline = try await loop.submit {
            let answered = NIOLoopBoundBox(false, eventLoop: loop)
            _ = ProviderLeaseRequester(provider: provider, eventLoop: loop).requestLease(
                model: "cold", progress: { _ in },
                completion: { result in
                    answered.value = true
                    loop.preconditionInEventLoop()
                    let lease = try? result.get()
                    lease?.release()
                    answer.succeed(lease?.modelID ?? "failed")
                })
            return answered.value
        }.get()
        #expect(!inline)
        #expect(try await answer.futureResult.get() == "cold")
        #expect(provider.asyncCalls.withLockedValue { $0 } == 1)
        await supervisor.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func startingStoppingAndStoppedModelsAreNotLeasedFast() async throws {
        let fleet = FastLeaseFleet()
        fleet.hold("llama")
        let supervisor = F.supervisor(F.config([F.model("llama")]), fleet: fleet)
        #expect(!F.leasable(supervisor, "llama"), "never started")
        let first = Task { await F.acquire(supervisor, "llama") }
        #expect(await fleet.next() == "start llama")
        #expect(!F.leasable(supervisor, "llama"), "starting")
        await fleet.upstream("llama")!.openGate()
        try await first.value.get().release()
        #expect(await fleet.next() == "ready llama")
        let fast = try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil))

        fleet.holdStops("llama")
        let unload = Task { try await supervisor.unload("llama") }
        #expect(await fleet.next() == "stopping llama")
        #expect(!F.leasable(supervisor, "llama"), "stopping")
        await fleet.upstream("llama")!.openStopGate()
        #expect(try await unload.value == ["llama"])
        #expect(!F.leasable(supervisor, "llama"), "stopped")
        fast.release()
        #expect(supervisor.board.current["llama"] == nil)
    }

    @Test func theLimitHoldsForFastLeasesAndTheAsyncPathStillAnswers429() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.config([F.model("llama", limit: 3)]), fleet: fleet)
        try await F.warm(supervisor, "llama")
        let leases = (0..<3).compactMap { _ in supervisor.tryAcquireReady(model: "llama", pinned: nil) }
        #expect(leases.count == 3)
        #expect(!F.leasable(supervisor, "llama"))
        guard case .failure(.overConcurrencyLimit("llama", 3, let retry)) = await F.acquire(supervisor, "llama")
        else {
            Issue.record("expected overConcurrencyLimit")
            return
        }
        #expect(retry == Supervisor.retryAfterSeconds)
        leases[0].release()
        let again = try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil))
        #expect(!F.leasable(supervisor, "llama"))
        for lease in leases.dropFirst() + [again] { lease.release() }
        #expect(supervisor.board.current["llama"]?.inFlight == 0)
    }

    @Test func aSwapWaitsForTheFastLeasesOnTheModelItEvicts() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.swapping(F.model("a"), F.model("b")), fleet: fleet)
        try await F.warm(supervisor, "a")
        #expect(fleet.unread() == ["start a", "ready a"])
        let lease = try #require(supervisor.tryAcquireReady(model: "a", pinned: nil))

        let b = Task { await F.acquire(supervisor, "b") }
        while await supervisor.queued() != ["b"] { await Task.yield() }
        // b waits for a's request; while it queues, a is leased only through the actor (in queue order).
        #expect(!F.leasable(supervisor, "a"))
        try? await Task.sleep(for: .milliseconds(50))
        #expect(fleet.unread() == [], "a must not be stopped under its fast lease")
        #expect(await supervisor.running().map(\.id) == ["a"])

        lease.release()
        #expect(await fleet.next() == "stop a")
        #expect(await fleet.next() == "start b")
        #expect(await fleet.next() == "ready b")
        try await b.value.get().release()
        #expect(fleet.inFlightAtStop("a") == [0])
        #expect(F.leasable(supervisor, "b"), "the queue is empty again")
    }

    @Test func aFastLeaseTriedWhileTheSwapIsPlannedIsRefused() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.swapping(F.model("a"), F.model("b")), fleet: fleet)
        let sneaked = NIOLockedValueBox<[UpstreamLease]>([])
        await supervisor.useMetrics(
            ProxyMetrics(
                factory: SwapTripwire {
                    // Between the plan's read of a's count (0) and a's stop: no fast lease may raise it.
                    if let lease = supervisor.tryAcquireReady(model: "a", pinned: nil) {
                        sneaked.withLockedValue { $0.append(lease) }
                    }
                }))
        try await F.warm(supervisor, "a")
        let b = try await supervisor.acquire(model: "b", progress: { _ in })
        let leases = sneaked.withLockedValue { $0 }
        #expect(leases.isEmpty, "a fast lease was granted on a model the swap had planned to stop")
        #expect(fleet.inFlightAtStop("a") == [0])
        for lease in leases { lease.release() }
        b.release()
    }

    @Test func fastLeasesRacingASwapNeverHoldTheModelItStops() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.swapping(F.model("a", limit: 1_000), F.model("b")), fleet: fleet)
        try await F.warm(supervisor, "a")
        let stop = NIOLockedValueBox(false)
        let granted = NIOLockedValueBox(0)
        let heldAcrossTheStop = NIOLockedValueBox(0)
        let hammer = Task {
            let limit = ContinuousClock.now + .seconds(20)  // bounded even if the test fails before setting `stop`
            await onThreads(6) { _ in
                while !stop.withLockedValue({ $0 }) && ContinuousClock.now < limit {
                    guard let lease = supervisor.tryAcquireReady(model: "a", pinned: nil) else {
                        sched_yield()
                        continue
                    }
                    granted.withLockedValue { $0 += 1 }
                    // Held while a's stop has begun: the rule is broken.
                    if !fleet.inFlightAtStop("a").isEmpty { heldAcrossTheStop.withLockedValue { $0 += 1 } }
                    lease.release()
                }
            }
        }
        while granted.withLockedValue({ $0 }) < 1_000 { try await Task.sleep(for: .milliseconds(1)) }
        let b = try await supervisor.acquire(model: "b", progress: { _ in })
        stop.withLockedValue { $0 = true }
        await hammer.value
        b.release()
        #expect(fleet.inFlightAtStop("a") == [0])
        #expect(heldAcrossTheStop.withLockedValue { $0 } == 0)
        #expect(supervisor.board.current["a"] == nil)
    }

    @Test func concurrentFastAcquiresFromManyThreadsNeverExceedTheLimit() async throws {
        let fleet = FastLeaseFleet()
        let limit = 4
        let supervisor = F.supervisor(F.config([F.model("llama", limit: limit)]), fleet: fleet)
        try await F.warm(supervisor, "llama")
        let held = NIOLockedValueBox((now: 0, most: 0, granted: 0, overBoard: 0))
        await onThreads(8) { _ in
            for _ in 0..<3_000 {
                guard let lease = supervisor.tryAcquireReady(model: "llama", pinned: nil) else { continue }
                let board = supervisor.board.current["llama"]?.inFlight ?? 0
                held.withLockedValue {
                    $0.now += 1
                    $0.most = max($0.most, $0.now)
                    $0.granted += 1
                    if board > limit { $0.overBoard += 1 }
                }
                held.withLockedValue { $0.now -= 1 }
                lease.release()
            }
        }
        let result = held.withLockedValue { $0 }
        #expect(result.most <= limit)
        #expect(result.overBoard == 0)
        #expect(result.granted > 0)
        #expect(supervisor.board.current["llama"] == SelectorChoice.TargetState(phase: .ready, inFlight: 0))
    }

    @Test func unloadAndShutdownCloseTheFastLeases() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.sideBySide([F.model("a"), F.model("b")]), fleet: fleet)
        try await F.warm(supervisor, "a")
        try await F.warm(supervisor, "b")
        #expect(try await supervisor.unload("b") == ["b"])
        #expect(!F.leasable(supervisor, "b"))

        let held = try #require(supervisor.tryAcquireReady(model: "a", pinned: nil))
        let shutdown = Task { await supervisor.shutdown(grace: .seconds(30)) }
        // The grace waits for the lease on a; meanwhile no new lease, fast or not.
        while F.leasable(supervisor, "a") { await Task.yield() }
        guard case .failure(.shuttingDown) = await F.acquire(supervisor, "a") else {
            Issue.record("expected shuttingDown")
            return
        }
        #expect(await fleet.upstream("a")!.running)
        held.release()
        await shutdown.value
        #expect(await fleet.upstream("a")!.running == false)
        #expect(!F.leasable(supervisor, "a"))
    }

    @Test func aReloadClosesTheChangedModelsFastLeasesAndTheNewRunOpensThem() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.sideBySide([F.model("a", port: 7001), F.model("b")]), fleet: fleet)
        try await F.warm(supervisor, "a")
        try await F.warm(supervisor, "b")
        _ = fleet.unread()
        let before = supervisor.store.current
        let oldA = try #require(fleet.upstream("a"))  // the reload makes a new upstream for a
        fleet.holdStops("a")
        let reload = Task {
            await supervisor.reload(F.sideBySide([F.model("a", port: 7002), F.model("b")]))
        }
        #expect(await fleet.next() == "stopping a")
        #expect(!F.leasable(supervisor, "a"))
        #expect(!F.leasable(supervisor, "a", pinned: before))
        let b = try #require(supervisor.tryAcquireReady(model: "b", pinned: nil), "b is unchanged")
        b.release()
        await oldA.openStopGate()
        await reload.value
        try await F.warm(supervisor, "a")
        let lease = try #require(supervisor.tryAcquireReady(model: "a", pinned: nil))
        #expect(lease.upstream.port == 7002)
        lease.release()
    }

    @Test func theStopHookHearsStopsAndExits() async throws {
        let fleet = FastLeaseFleet()
        let supervisor = F.supervisor(F.sideBySide([F.model("a"), F.model("b")]), fleet: fleet)
        let stopped = NIOLockedValueBox<[String]>([])
        supervisor.onModelStopped { id in stopped.withLockedValue { $0.append(id) } }
        try await F.warm(supervisor, "a")
        try await F.warm(supervisor, "b")
        #expect(try await supervisor.unload("b") == ["b"])
        #expect(stopped.withLockedValue { $0 } == ["b"])

        let held = try #require(supervisor.tryAcquireReady(model: "a", pinned: nil))
        await fleet.upstream("a")!.crash()
        let limit = ContinuousClock.now + .seconds(10)
        while stopped.withLockedValue({ $0 }) != ["b", "a"] && ContinuousClock.now < limit {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(stopped.withLockedValue { $0 } == ["b", "a"])
        #expect(!F.leasable(supervisor, "a"), "exited: closed")
        #expect(supervisor.board.current["a"] == SelectorChoice.TargetState(phase: nil, inFlight: 1))
        held.release()
        try await F.warm(supervisor, "a")
        #expect(await fleet.upstream("a")!.starts == 2)
    }
}

/// TTL with fast leases, exact on a manual clock.
@Suite(.timeLimit(.minutes(1))) struct SupervisorFastLeaseTTLTests {
    private let ttl = Duration.seconds(300)

    /// True if no event arrives for a short while (a TTL timer that must not unload has had its turn).
    private func quiet(_ fleet: FastLeaseFleet) async -> Bool {
        try? await Task.sleep(for: .milliseconds(50))
        return fleet.unread().isEmpty
    }

    @Test func aFastLeaseHeldPastTheTTLKeepsTheModelAndItsReleaseRestartsTheIdleTime() async throws {
        let fleet = FastLeaseFleet()
        let clock = FastLeaseClock()
        let supervisor = F.supervisor(F.config([F.model("llama", ttl: ttl)]), fleet: fleet, clock: clock)
        try await F.warm(supervisor, "llama")
        _ = fleet.unread()
        #expect(await clock.waitForDeadlines([.seconds(300)]))

        clock.advance(by: .seconds(100))
        let lease = try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil))
        clock.advance(by: .seconds(250))  // t = 350: the timer armed at 0 fires, a lease is held
        #expect(await quiet(fleet), "unloaded under a fast lease")
        #expect(F.leasable(supervisor, "llama"))

        lease.release()  // t = 350: idle from now
        #expect(await clock.waitForDeadlines([.seconds(650)]))
        clock.advance(by: .seconds(299))
        #expect(await quiet(fleet))
        #expect(clock.deadlines == [.seconds(650)])
        clock.advance(by: .seconds(1))
        #expect(await fleet.next() == "stop llama")
        #expect(!F.leasable(supervisor, "llama"))
    }

    @Test func aFastLeaseTakenAndGivenBackRearmsTheTimerFromItsRelease() async throws {
        let fleet = FastLeaseFleet()
        let clock = FastLeaseClock()
        let supervisor = F.supervisor(F.config([F.model("llama", ttl: ttl)]), fleet: fleet, clock: clock)
        try await F.warm(supervisor, "llama")
        _ = fleet.unread()
        #expect(await clock.waitForDeadlines([.seconds(300)]))
        clock.advance(by: .seconds(120))
        try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil)).release()
        #expect(await clock.waitForDeadlines([.seconds(420)]))
        clock.advance(by: .seconds(180))  // t = 300: the first timer's instant
        #expect(await quiet(fleet), "a stale timer unloaded the model early")
        clock.advance(by: .seconds(119))
        #expect(await quiet(fleet))
        clock.advance(by: .seconds(1))
        #expect(await fleet.next() == "stop llama")
    }

    /// The release's report to the actor and the old timer race: whichever the actor hears first, the model is
    /// unloaded exactly `ttl` after the last release and never at the old timer's instant (the table's activity
    /// check). Several rounds, since the order is the scheduler's.
    @Test func theOldTimerFiringBeforeTheReleaseIsHeardDoesNotUnload() async throws {
        for _ in 0..<20 {
            let fleet = FastLeaseFleet()
            let clock = FastLeaseClock()
            let supervisor = F.supervisor(F.config([F.model("llama", ttl: ttl)]), fleet: fleet, clock: clock)
            try await F.warm(supervisor, "llama")
            _ = fleet.unread()
            #expect(await clock.waitForDeadlines([.seconds(300)]))
            clock.advance(by: .seconds(100))
            try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil)).release()
            clock.advance(by: .seconds(200))  // at once: the old timer fires, maybe before the release is heard
            #expect(await clock.waitForDeadlines([.seconds(400)]))
            #expect(fleet.unread().isEmpty, "unloaded at the old timer's instant")
            clock.advance(by: .seconds(100))
            #expect(await fleet.next() == "stop llama")
        }
    }

    /// The old timer fires while a fast lease is held and the lease is released at once after: the timer's check
    /// may run after the release lowered the count but before the actor heard of it; the activity since it was
    /// armed must still keep the model (unloaded `ttl` after that release, not at the timer's instant).
    @Test func theOldTimerCheckingJustAfterAReleaseDoesNotUnload() async throws {
        for _ in 0..<20 {
            let fleet = FastLeaseFleet()
            let clock = FastLeaseClock()
            let supervisor = F.supervisor(F.config([F.model("llama", ttl: ttl)]), fleet: fleet, clock: clock)
            try await F.warm(supervisor, "llama")
            _ = fleet.unread()
            #expect(await clock.waitForDeadlines([.seconds(300)]))
            clock.advance(by: .seconds(100))
            let lease = try #require(supervisor.tryAcquireReady(model: "llama", pinned: nil))
            clock.advance(by: .seconds(200))  // t = 300: the old timer fires…
            lease.release()  // …and the lease ends at once
            #expect(await clock.waitForDeadlines([.seconds(600)]))
            #expect(fleet.unread().isEmpty, "unloaded at the old timer's instant")
            clock.advance(by: .seconds(300))
            #expect(await fleet.next() == "stop llama")
        }
    }
}
