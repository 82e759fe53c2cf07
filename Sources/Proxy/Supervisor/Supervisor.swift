import Logging
import NIOConcurrencyHelpers

/// Runs the models' upstreams on demand: the `UpstreamProvider` the relay asks for a ready upstream.
///
/// One actor owns every decision, so there is exactly one place where a model starts, is swapped out or unloaded:
/// - A request for a stopped model starts it; requests for a loading model join that load (one start, N waiters).
/// - Before a start, the swap engine the config chose (`SwapEngine`: the groups' `SwapPlanner`, or the matrix's
///   `SwapMatrix`) names the models to evict; a model with in-flight requests is never stopped under them: the new
///   model waits until their leases are released. Each matrix swap is logged once, as decided when it began.
/// - Each lease counts as in flight until released; a model idle for its `ttl` is unloaded.
/// - A ready model is leased without this actor (``tryAcquireReady(model:pinned:)``, under the ``LeaseTable``'s lock)
///   while nothing queues and it serves fewer than `concurrencyLimit` requests; the counts live in that table, and this
///   actor closes a model's fast leases before it stops it and turns them all off before it reads counts to plan, so
///   the rules above hold with fast leases too (the table's doc comment has the details).
/// - A child that dies while ready makes its model stopped; the next request starts it again.
/// - `unload` stops at once (as llama-swap's `/unload` does); `shutdown` refuses new requests, gives in-flight ones a
///   grace, then stops every child; `reload` (SIGHUP) stops only the models whose config changed.
public actor Supervisor: UpstreamProvider {
    /// Makes the upstream of one model. `onUnexpectedExit` must be called with the run number when a ready upstream
    /// dies on its own.
    public typealias UpstreamFactory =
        @Sendable (ModelConfig, ProxyConfig, _ onUnexpectedExit: @escaping @Sendable (Int) -> Void) ->
        any SupervisedUpstream

    /// Settings of the real processes that are not in the config (tests shorten them).
    public struct ProcessOptions: Sendable, Hashable {
        /// Time between SIGTERM (or `cmdStop`) and SIGKILL.
        public var stopGrace: Duration
        /// Pause between two health polls.
        public var pollInterval: Duration
        /// Limit of one health poll.
        public var pollTimeout: Duration
        /// Start commands through `ParentDeathSignal`, so they die with the proxy (Linux).
        public var killOnParentDeath: Bool

        /// The defaults suit llama-server: 5 s to exit after SIGTERM, a poll every 250 ms, 2 s per poll.
        public init(
            stopGrace: Duration = .seconds(5), pollInterval: Duration = .milliseconds(250),
            pollTimeout: Duration = .seconds(2), killOnParentDeath: Bool = true
        ) {
            self.stopGrace = stopGrace
            self.pollInterval = pollInterval
            self.pollTimeout = pollTimeout
            self.killOnParentDeath = killOnParentDeath
        }
    }

    private enum Phase: Sendable, Hashable {
        case stopped
        case starting
        case ready
        case stopping
    }

    private struct Slot {
        var upstream: any SupervisedUpstream
        /// Tells exit reports of a replaced upstream (after a reload) from the current one's.
        var generation: Int
        var phase: Phase = .stopped
        /// The run number of the ready upstream.
        var run: Int?
        /// Where the ready run listens (read when its start finished).
        var address: UpstreamURL?
        /// Counts starts, so joiners of a start know whether the failure recorded is theirs.
        var attempt = 0
        var lastFailure: (attempt: Int, failure: UpstreamFailure)?
        var idleGeneration = 0
        var ttlTask: Task<Void, Never>?
        var stopTask: Task<Void, Never>?
        /// The matrix's swap line for the start being prepared, as decided when it began; logged when it starts.
        var pendingSwapLine: String?
    }

    /// Where starts, crashes, swaps and ttl unloads are counted (``useMetrics(_:)``).
    private var metrics = ProxyMetrics.disabled
    /// Every line of every upstream and the supervisor's own steps (for `/logs`).
    public nonisolated let logs: LogBuffer
    /// The config snapshot in force, shared with the router; only ``reload(_:)`` replaces it.
    public nonisolated let store: ConfigStore
    /// `store.current`, as this actor last applied it (the two are equal outside `reload`'s first, synchronous step).
    private var snapshot: ConfigSnapshot
    private var config: ProxyConfig { snapshot.config }
    private var engine: SwapEngine
    /// `routing.scheduler`: requests waiting for their model to start, in service order (``SchedulerQueue``).
    private var queue: SchedulerQueue
    /// How to tell each queued request what it waits for (`sendLoadingState`), and what it was told last.
    private var queuedProgress: [Int: (progress: @Sendable (LoadingProgress) -> Void, last: String)] = [:]
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let factory: UpstreamFactory
    private var slots: [String: Slot] = [:]
    /// Every model's requests in flight (this actor keeps no count of its own), its phase, and its fast-lease entry.
    private nonisolated let table: LeaseTable
    /// Each model's phase and requests, for readers that cannot wait for this actor (the router's selectors and
    /// `upstream.ignorePaths`): a view of `table`, current at every lease and phase change.
    public nonisolated let board: ModelStateBoard
    /// Sleeps on `clock` until a time since this supervisor was made (the table's idle marks count from then too):
    /// a TTL deadline is an instant, whenever its task starts to sleep.
    private nonisolated let sleepUntil: @Sendable (Duration) async throws -> Void
    /// Told each model that stopped (``onModelStopped(_:)``).
    private nonisolated let stopHook = NIOLockedValueBox<(@Sendable (String) -> Void)?>(nil)
    private var nextGeneration = 0
    private var shuttingDown = false
    private var changeWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0
    /// Progress callbacks of the requests waiting for each model, fed from any task while a start runs.
    private nonisolated let progressListeners = NIOLockedValueBox<[String: [Int: @Sendable (LoadingProgress) -> Void]]>(
        [:])

    /// How long a request over `concurrencyLimit` is told to wait before retrying.
    public static let retryAfterSeconds = 1

    /// A supervisor with real processes (`UpstreamProcess`).
    /// - Parameter clock: drives TTL unloads and the shutdown grace.
    public init(
        config: ProxyConfig,
        logs: LogBuffer = LogBuffer(),
        logger: Logger = Logger(label: "supervisor"),
        clock: any Clock<Duration> = ContinuousClock(),
        processOptions: ProcessOptions = ProcessOptions()
    ) {
        self.init(
            store: ConfigStore(config), logs: logs, logger: logger, clock: clock, processOptions: processOptions)
    }

    /// A supervisor with real processes that reads (and on reload replaces) `store`, the router's store too.
    public init(
        store: ConfigStore,
        logs: LogBuffer = LogBuffer(),
        logger: Logger = Logger(label: "supervisor"),
        clock: any Clock<Duration> = ContinuousClock(),
        processOptions: ProcessOptions = ProcessOptions()
    ) {
        let factory: UpstreamFactory = { model, proxyConfig, onExit in
            UpstreamProcess(
                config: model,
                timing: UpstreamProcess.Timing(
                    healthCheckTimeout: proxyConfig.healthCheckTimeout, pollInterval: processOptions.pollInterval,
                    pollTimeout: processOptions.pollTimeout,
                    stopGrace: Self.stopGrace(for: model, config: proxyConfig, default: processOptions.stopGrace)),
                logs: logs, logger: logger, killOnParentDeath: processOptions.killOnParentDeath,
                reservedPorts: Set(proxyConfig.models.values.compactMap(\.port)).subtracting([model.port].compactMap { $0 }),
                onUnexpectedExit: onExit)
        }
        self.init(store: store, logs: logs, logger: logger, clock: clock, factory: factory)
    }

    /// A supervisor whose upstreams `factory` makes (tests use fakes).
    public init(
        config: ProxyConfig,
        logs: LogBuffer = LogBuffer(),
        logger: Logger = Logger(label: "supervisor"),
        clock: any Clock<Duration> = ContinuousClock(),
        factory: @escaping UpstreamFactory
    ) {
        self.init(store: ConfigStore(config), logs: logs, logger: logger, clock: clock, factory: factory)
    }

    /// A supervisor whose upstreams `factory` makes, reading `store`.
    public init(
        store: ConfigStore,
        logs: LogBuffer = LogBuffer(),
        logger: Logger = Logger(label: "supervisor"),
        clock: any Clock<Duration> = ContinuousClock(),
        factory: @escaping UpstreamFactory
    ) {
        self.store = store
        self.snapshot = store.current
        let (engine, problem) = SwapEngine.make(config: store.current.config)
        self.engine = engine
        self.queue = SchedulerQueue(priority: store.current.config.routing.priority)
        self.logs = logs
        self.logger = logger
        self.clock = clock
        self.factory = factory
        let (elapsed, sleepUntil) = Self.timeline(clock)
        let table = LeaseTable(now: elapsed)
        table.setGeneration(store.current.generation)
        self.sleepUntil = sleepUntil
        self.table = table
        self.board = ModelStateBoard(table: table)
        if let problem { Self.report(problem, logs: logs, logger: logger) }
    }

    /// llama-swap's `unloadTimeout`: the time a stopping model gets between SIGTERM (or `cmdStop`) and SIGKILL — the
    /// model's own, else the config's, else `default` (``ProcessOptions/stopGrace``, 5 s; llama-swap's default is
    /// 10 s). Read when the model's upstream is made: a change applies to a running model after its next restart.
    static func stopGrace(for model: ModelConfig, config: ProxyConfig, default grace: Duration) -> Duration {
        model.unloadTimeout ?? config.unloadTimeout ?? grace
    }

    /// `hooks.on_startup.preload`: starts the config's preload models one after another, in file order, as llama-swap
    /// does (each as a request that is released once the model is ready, so their ttl counts from then; models that
    /// cannot run together swap each other out, as llama-swap warns). A model that fails to start is logged and the
    /// next one is tried. Returns when every model has been tried, or at once when the task is cancelled.
    public func preload() async {
        for id in config.preload {
            if Task.isCancelled || shuttingDown { return }
            logs.append("preloading model: \(id)", source: "proxy")
            logger.info("preloading model", metadata: ["model": "\(id)"])
            do {
                let lease = try await acquire(model: id, progress: { _ in })
                releaseCounted(lease.modelID)
            } catch {
                logs.append("failed to preload model \(id): \(error.openAIError.message)", source: "proxy")
                logger.error("failed to preload model", metadata: ["model": "\(id)", "reason": "\(error)"])
            }
        }
    }

    /// Counts model starts, crashes, swaps and ttl unloads into `metrics` from now on.
    public func useMetrics(_ metrics: ProxyMetrics) { self.metrics = metrics }

    /// Calls `hook` with a model's id each time the model stops (a stop finished, or its process ended on its own),
    /// from this actor; replaces any earlier hook. Production drops the model's idle pooled upstream connections
    /// (`UpstreamPools.drop(model:)`): its port may be reused by the next model. `hook` must not block.
    public nonisolated func onModelStopped(_ hook: @escaping @Sendable (String) -> Void) {
        stopHook.withLockedValue { $0 = hook }
    }

    // MARK: - UpstreamProvider

    /// See `UpstreamProvider.acquire`. Waiting requests count against `concurrencyLimit` (as in llama-swap); a
    /// cancelled wait throws `.failed(.startFailed)` saying so (the protocol has no cancellation case), which the relay
    /// never shows since its client is gone.
    public func acquire(
        model requested: String,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        try await acquire(model: requested, pinned: nil, progress: progress)
    }

    /// See `UpstreamProvider.acquire(model:pinned:progress:)`: the name, the limit and `useModelName` are read in
    /// `pinned` (the snapshot the router decided with), so a request routed just before a reload is served as the
    /// router decided; the process serving it is the one this supervisor runs for the model now. A model the reload
    /// removed still serves such a request, and stops when its last one ends.
    public func acquire(
        model requested: String,
        pinned: ConfigSnapshot?,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        if shuttingDown { throw .shuttingDown }
        let view = pinned?.config ?? config
        guard let model = view.model(named: requested) else { throw .unknownModel(requested) }
        let id = model.id
        if slots[id] == nil { slots[id] = makeSlot(model) }
        guard table.acquire(id, limit: model.concurrencyLimit) else {
            throw .overConcurrencyLimit(
                model: id, limit: model.concurrencyLimit, retryAfterSeconds: Self.retryAfterSeconds)
        }
        keepAlive(id)

        let listenerID = nextWaiterID
        nextWaiterID += 1
        progressListeners.withLockedValue { $0[id, default: [:]][listenerID] = progress }
        defer { progressListeners.withLockedValue { _ = $0[id]?.removeValue(forKey: listenerID) } }
        queuedProgress[listenerID] = (progress, "")
        defer {
            queue.remove(ticket: listenerID)
            queuedProgress[listenerID] = nil
            syncAccepting()
        }

        do {
            try await becomeReady(id, ticket: listenerID)
        } catch {
            releaseCounted(id)
            throw error
        }
        // Where this run listens: its port may have moved off one another process held.
        let address = slots[id]?.address ?? model.upstream
        return makeLease(id, upstream: address, forwardedModelName: model.useModelName)
    }

    /// See ``UpstreamProvider/tryAcquireReady(model:pinned:)``: the name, the limit and `useModelName` are read as in
    /// ``acquire(model:pinned:progress:)``; the lease is granted under the ``LeaseTable``'s lock when the model's
    /// fast leases are open (it is ready, nothing queues, no shutdown) and it serves fewer than its limit. Without a
    /// pinned snapshot, one read during a reload's first step is refused (its generation is not the table's).
    public nonisolated func tryAcquireReady(model requested: String, pinned: ConfigSnapshot?) -> UpstreamLease? {
        let snapshot = pinned ?? store.current
        guard let model = snapshot.config.model(named: requested),
            let open = table.tryAcquireFast(
                model.id, limit: model.concurrencyLimit, generation: pinned == nil ? snapshot.generation : nil)
        else { return nil }
        return makeLease(model.id, upstream: open.address, forwardedModelName: model.useModelName)
    }

    /// A lease counted in `table`. Its release (once; later calls do nothing) lowers the count under the lock and
    /// tells this actor only when the table says it must (``LeaseTable/release(_:)``).
    ///
    /// The lease holds this supervisor strongly, on purpose: an object ever referenced weakly gets a side table, and
    /// then every retain and release of it takes the runtime's slow path (the request path retains the provider per
    /// request). A lease lives for one request; nothing here holds a lease, so there is no cycle.
    private nonisolated func makeLease(_ id: String, upstream: UpstreamURL, forwardedModelName: String?)
        -> UpstreamLease
    {
        let released = NIOLockedValueBox(false)
        let table = self.table
        return UpstreamLease(
            modelID: id, upstream: upstream, forwardedModelName: forwardedModelName,
            onRelease: {
                let first = released.withLockedValue { released in
                    defer { released = true }
                    return !released
                }
                guard first, table.release(id) else { return }
                Task { await self.released(id) }
            })
    }

    // MARK: - Admin

    /// The models that are not stopped, by id (for `GET /running`).
    public func running() async -> [RunningModelInfo] {
        var result: [RunningModelInfo] = []
        for id in slots.keys.sorted() {
            guard let slot = slots[id], let phase = Self.plannerPhase(slot.phase) else { continue }
            let pid = await slot.upstream.processID
            result.append(
                RunningModelInfo(
                    id: id, phase: phase, pid: pid, inFlight: table.inFlight(id),
                    upstream: slot.upstream.config.upstream,
                    ttl: config.models[id]?.ttl))
        }
        return result
    }

    /// The model ids of the requests waiting for a start or swap, in the order the scheduler will serve them.
    public func queued() -> [String] { queue.waiters.map(\.model) }

    /// Stops `modelID` (id or alias), or every model when `nil`, at once — in-flight requests on them are cut, as
    /// with llama-swap's `/unload` — and returns once they have stopped, with the ids that were running.
    /// Throws `.unknownModel` for a name that is not configured.
    @discardableResult
    public func unload(_ modelID: String? = nil) async throws(UpstreamAcquireError) -> [String] {
        var ids: [String]
        if let modelID {
            guard let model = config.model(named: modelID) else { throw .unknownModel(modelID) }
            ids = [model.id]
        } else {
            ids = slots.keys.sorted()
        }
        ids = ids.filter { slots[$0].map { $0.phase != .stopped } ?? false }
        for id in ids {
            logs.append("unloading \(id)", source: "proxy")
            beginStop(id)
        }
        for id in ids { await slots[id]?.stopTask?.value }
        return ids
    }

    /// Refuses new requests (`.shuttingDown`), waits up to `grace` for in-flight requests to be released, then
    /// stops every model and returns once no child runs.
    public func shutdown(grace: Duration = .zero) async {
        guard !shuttingDown else {
            for slot in slots.values { await slot.stopTask?.value }
            return
        }
        shuttingDown = true
        syncAccepting()  // before reading counts: no fast lease from now on, every release tells this actor
        logger.info("supervisor shutting down")
        notifyChange()
        if grace > .zero && table.anyInFlight {
            let expired = NIOLockedValueBox(false)
            let timer = Task { [clock] in
                try? await clock.sleep(for: grace)
                expired.withLockedValue { $0 = true }
                self.notifyChange()
            }
            while table.anyInFlight && !expired.withLockedValue({ $0 }) {
                await waitForChange()
            }
            timer.cancel()
        }
        for id in slots.keys.sorted() { beginStop(id) }
        for slot in slots.values { await slot.stopTask?.value }
        logger.info("supervisor stopped every model")
    }

    /// Applies a new config (SIGHUP): models whose config changed or that are gone are stopped (their in-flight
    /// requests are cut); unchanged running models keep running; new models become available.
    ///
    /// The new snapshot is put in force for the router and this supervisor in one step, in the same actor turn that
    /// retires the changed models' processes, so no request can see the new config with an old process or the reverse.
    public func reload(_ newConfig: ProxyConfig) async {
        // No fast lease while the snapshot and the processes change: none may pair the new config with an old
        // process (the changed models' entries are closed below, before fast leases are accepted again).
        table.setAccepting(false)
        let oldConfig = config
        snapshot = store.replace(with: newConfig)
        let (engine, problem) = SwapEngine.make(config: newConfig)
        self.engine = engine
        queue.updatePriority(newConfig.routing.priority)
        if let problem { Self.report(problem, logs: logs, logger: logger) }
        var stopping: [String] = []
        for id in slots.keys.sorted() {
            guard let slot = slots[id] else { continue }
            let newModel = newConfig.models[id]
            let changed = newModel.map { Self.needsRestart(from: slot.upstream.config, to: $0) } ?? true
            if slot.phase != .stopped && (newModel == nil || changed) {
                logs.append("config of \(id) \(newModel == nil ? "removed" : "changed"): stopping it", source: "proxy")
                beginStop(id)
                stopping.append(id)
            }
            guard let newModel else { continue }
            if slot.phase == .stopped {
                // No process to keep: take the new config (and health timeout) as a whole.
                if newModel != slot.upstream.config || oldConfig.healthCheckTimeout != newConfig.healthCheckTimeout {
                    replaceUpstream(id, with: newModel)
                }
            } else if changed {
                replaceUpstream(id, with: newModel)  // the stop begun above holds the old one
            }
        }
        for id in slots.keys { table.setWatchIdle(id, Self.watchesIdle(id, config: newConfig)) }
        table.setGeneration(snapshot.generation)
        syncAccepting()
        for id in stopping { await slots[id]?.stopTask?.value }
        for id in slots.keys where newConfig.models[id] == nil && slots[id]?.phase == .stopped {
            slots[id] = nil
            table.remove(id)
        }
        notifyChange()
    }

    // MARK: - Loading

    /// Waits until `id` is ready for the request holding `ticket` (its arrival number). Every decision to start,
    /// stop or wait is taken by ``runQueue()`` in queue order; this loop only queues the request, joins the start it
    /// was admitted to, and queues it again if that model stopped before it became ready.
    private func becomeReady(_ id: String, ticket: Int) async throws(UpstreamAcquireError) {
        var joinedAttempt: Int?
        while true {
            if shuttingDown { throw .shuttingDown }
            if Task.isCancelled {
                throw .failed(.startFailed(model: id, detail: "the request was cancelled while the model loaded"))
            }
            guard let slot = slots[id] else { throw .unknownModel(id) }
            if let joinedAttempt, let last = slot.lastFailure, last.attempt == joinedAttempt {
                throw .failed(last.failure)
            }
            if !queue.contains(ticket: ticket) && (joinedAttempt == nil || slot.phase == .stopped) {
                // New, or admitted to a start that is gone (stopped by an unload, a reload or a crash): queue again.
                joinedAttempt = nil
                queue.enqueue(ticket: ticket, model: id)
                syncAccepting()  // close first: the drain below reads counts no fast lease may raise
                runQueue()
            }
            if !queue.contains(ticket: ticket), let slot = slots[id] {
                switch slot.phase {
                case .ready: return
                case .starting: joinedAttempt = slot.attempt
                case .stopping: break  // stopped under the start it joined: queued again once it has stopped
                case .stopped: continue  // its start failed (thrown above) or it stopped since: queue again
                }
            }
            await waitForChange()
        }
    }

    /// One drain of the scheduler queue (``SchedulerQueue``), performed in this actor turn: starts, stops and
    /// progress messages in queue order.
    private func runQueue() {
        guard !shuttingDown, !queue.waiters.isEmpty else { return }
        for decision in queue.drain(running: plannerView(), engine: engine) {
            let id = decision.model
            if let line = decision.swapLine, slots[id]?.pendingSwapLine == nil { slots[id]?.pendingSwapLine = line }
            switch decision.step {
            case .admit(let alsoStop):
                alsoStop.forEach(beginStop)
            case .start:
                beginStart(id)
            case .makeRoom(let stopping):
                if stopping.contains(where: { slots[$0]?.phase == .ready }) { metrics.modelSwappedIn(id) }
                stopping.forEach(beginStop)
                tell(decision.ticket, "stopping \(stopping.joined(separator: ", ")) to make room for \(id)", model: id)
            case .wait(let busy, let stopNow):
                stopNow.forEach(beginStop)
                tell(decision.ticket, "waiting for \(busy.joined(separator: ", ")) to finish before starting \(id)", model: id)
            }
        }
        // Only now, with the stops above begun (their entries closed): fast leases again if nobody waits.
        syncAccepting()
    }

    /// Fast leases are accepted exactly while no request queues and the proxy is not shutting down: a queued
    /// request's plan reads counts (a fast lease must not raise one after it was read), and a waiter or the shutdown
    /// grace must hear every release.
    private func syncAccepting() {
        table.setAccepting(!shuttingDown && queue.waiters.isEmpty)
    }

    /// Tells a queued request what it waits for, once per change of message.
    private func tell(_ ticket: Int, _ message: String, model: String) {
        guard let entry = queuedProgress[ticket], entry.last != message else { return }
        queuedProgress[ticket]?.last = message
        entry.progress(LoadingProgress(modelID: model, message: message))
    }

    private func beginStart(_ id: String) {
        guard var slot = slots[id], slot.phase == .stopped else { return }
        slot.attempt += 1
        slot.phase = .starting
        slot.run = nil
        slot.address = nil
        table.setPhase(id, .starting)
        let attempt = slot.attempt
        let upstream = slot.upstream
        let swapLine = slot.pendingSwapLine
        slot.pendingSwapLine = nil
        slots[id] = slot
        if let swapLine {
            logs.append(swapLine, source: "proxy")
            logger.info("\(swapLine)")
        }
        logger.info("loading model", metadata: ["model": "\(id)"])
        let listeners = progressListeners
        Task {
            let began = ContinuousClock.now
            let result: Result<(run: Int, address: UpstreamURL), UpstreamStartError>
            do {
                let run = try await upstream.start { message in
                    let callbacks = listeners.withLockedValue { $0[id].map { Array($0.values) } ?? [] }
                    for callback in callbacks { callback(LoadingProgress(modelID: id, message: message)) }
                }
                // Where this run listens: its port may have moved off one another process held.
                result = .success((run, await upstream.address))
            } catch let error as UpstreamStartError {
                result = .failure(error)
            } catch {
                result = .failure(UpstreamStartError(.startFailed(model: id, detail: "\(error)"), underlying: error))
            }
            self.metrics.modelStartEnded(id, succeeded: (try? result.get()) != nil, after: .now - began)
            self.finishStart(id, attempt: attempt, result: result)
        }
    }

    private func finishStart(
        _ id: String, attempt: Int, result: Result<(run: Int, address: UpstreamURL), UpstreamStartError>
    ) {
        guard var slot = slots[id], slot.attempt == attempt, slot.phase == .starting else { return }
        switch result {
        case .success(let started):
            slot.phase = .ready
            slot.run = started.run
            slot.address = started.address
        case .failure(let failure):
            slot.phase = .stopped
            slot.lastFailure = (attempt, failure.failure)
            logs.append(failure.description, source: "proxy")
            logger.error("model failed to start", metadata: ["model": "\(id)", "reason": "\(failure)"])
        }
        slots[id] = slot
        table.setPhase(id, Self.plannerPhase(slot.phase))
        if case .success(let started) = result {
            // A model a reload removed serves only the requests routed before it (through this actor), then stops.
            if config.models[id] != nil {
                table.setWatchIdle(id, Self.watchesIdle(id, config: config))
                table.open(id, at: LeaseTable.Open(address: started.address, run: started.run))
            }
            table.markIdle(id)
            scheduleUnload(id)  // only if nothing is in flight (no idle mark otherwise)
        }
        notifyChange()
    }

    private func beginStop(_ id: String) {
        guard var slot = slots[id], slot.phase == .starting || slot.phase == .ready else { return }
        table.close(id)  // close first: no fast lease on a model being stopped
        table.setPhase(id, .stopping)
        slot.phase = .stopping
        slot.ttlTask?.cancel()
        slot.ttlTask = nil
        let upstream = slot.upstream
        slot.stopTask = Task {
            await upstream.stop()
            self.finishStop(id)
        }
        slots[id] = slot
    }

    private func finishStop(_ id: String) {
        guard slots[id]?.phase == .stopping else { return }
        slots[id]?.phase = .stopped
        slots[id]?.run = nil
        slots[id]?.address = nil
        table.setPhase(id, nil)
        stopHook.withLockedValue { $0 }?(id)
        if config.models[id] == nil && table.inFlight(id) == 0 {
            slots[id] = nil
            table.remove(id)
        }
        notifyChange()
    }

    private func upstreamExited(_ id: String, generation: Int, run: Int) {
        guard var slot = slots[id], slot.generation == generation, slot.phase == .ready, slot.run == run else {
            return
        }
        table.close(id)
        table.setPhase(id, nil)
        slot.phase = .stopped
        slot.run = nil
        slot.address = nil
        slot.ttlTask?.cancel()
        slot.ttlTask = nil
        slots[id] = slot
        stopHook.withLockedValue { $0 }?(id)
        metrics.modelCrashed(id)
        logs.append("\(id) stopped on its own; the next request starts it again", source: "proxy")
        notifyChange()
    }

    /// Releases a count this actor took itself (a request that failed while waiting; a preload).
    private func releaseCounted(_ id: String) {
        _ = table.release(id)
        released(id)
    }

    /// A release the table says this actor must hear of (``LeaseTable/release(_:)``): its count is already lowered.
    private func released(_ id: String) {
        let inFlight = table.inFlight(id)
        guard let slot = slots[id] else {
            if inFlight == 0 { table.remove(id) }
            notifyChange()
            return
        }
        if inFlight == 0 {
            // Nobody waits for a start any more: a swap line decided for it is stale.
            if slot.phase == .stopped { slots[id]?.pendingSwapLine = nil }
            if slot.phase == .ready { scheduleUnload(id) }
            if config.models[id] == nil {
                // Removed by a reload while it served requests routed before it: done now.
                if slot.phase == .stopped {
                    slots[id] = nil
                    table.remove(id)
                } else {
                    beginStop(id)
                }
            }
        }
        notifyChange()
    }

    // MARK: - TTL

    /// A request arrived: the model is not idle, any pending unload is off.
    private func keepAlive(_ id: String) {
        slots[id]?.idleGeneration += 1
        slots[id]?.ttlTask?.cancel()
        slots[id]?.ttlTask = nil
    }

    /// Arms `id`'s TTL timer for `ttl` after the moment the table marked it idle (the last release, or the end of its
    /// start), if nothing is in flight. The timer remembers the table's activity then: a fast lease taken since
    /// (which this actor does not see) keeps the model.
    private func scheduleUnload(_ id: String) {
        guard var slot = slots[id], let ttl = config.models[id]?.ttl, let mark = table.idleMark(id) else { return }
        slot.idleGeneration += 1
        slot.ttlTask?.cancel()
        let generation = slot.idleGeneration
        let deadline = mark.since + ttl
        slot.ttlTask = Task { [sleepUntil] in
            do {
                try await sleepUntil(deadline)
            } catch {
                return
            }
            self.unloadIfStillIdle(id, generation: generation, activity: mark.activity)
        }
        slots[id] = slot
    }

    private func unloadIfStillIdle(_ id: String, generation: Int, activity: Int) {
        // The table's check also closes the entry, in the same locked step: no fast lease between check and stop.
        guard let slot = slots[id], slot.idleGeneration == generation, slot.phase == .ready,
            table.closeIfIdle(id, since: activity)
        else { return }
        logs.append("unloading \(id): idle for its ttl", source: "proxy")
        logger.info("ttl reached, unloading", metadata: ["model": "\(id)"])
        metrics.modelUnloadedByTTL(id)
        beginStop(id)
    }

    // MARK: - Helpers

    private func makeSlot(_ model: ModelConfig) -> Slot {
        nextGeneration += 1
        return Slot(upstream: makeUpstream(model, generation: nextGeneration), generation: nextGeneration)
    }

    private func replaceUpstream(_ id: String, with model: ModelConfig) {
        nextGeneration += 1
        slots[id]?.upstream = makeUpstream(model, generation: nextGeneration)
        slots[id]?.generation = nextGeneration
    }

    private func makeUpstream(_ model: ModelConfig, generation: Int) -> any SupervisedUpstream {
        Self.makeUpstream(model, config: config, generation: generation, factory: factory) {
            [weak self] id, generation, run in
            Task { await self?.upstreamExited(id, generation: generation, run: run) }
        }
    }

    private static func makeUpstream(
        _ model: ModelConfig, config: ProxyConfig, generation: Int, factory: UpstreamFactory,
        onExit: @escaping @Sendable (String, Int, Int) -> Void
    ) -> any SupervisedUpstream {
        let id = model.id
        return factory(model, config) { run in onExit(id, generation, run) }
    }

    /// Whether a running model must restart for `new` to apply: only what shapes its process counts; the rest
    /// (ttl, aliases, limits, names, heartbeat) is read from the current config at each use.
    static func needsRestart(from old: ModelConfig, to new: ModelConfig) -> Bool {
        old.command != new.command || old.stopCommand != new.stopCommand || old.upstream != new.upstream
            || old.environment != new.environment || old.checkEndpoint != new.checkEndpoint
    }

    /// What runs, with the table's counts: read only while fast leases are off (the queue is not empty).
    private func plannerView() -> [SwapPlanner.RunningModel] {
        let counts = table.counts()
        return slots.compactMap { id, slot in
            Self.plannerPhase(slot.phase).map {
                SwapPlanner.RunningModel(id: id, phase: $0, inFlight: counts[id, default: 0])
            }
        }
    }

    private static func plannerPhase(_ phase: Phase) -> SwapPlanner.Phase? {
        switch phase {
        case .stopped: nil
        case .starting: .starting
        case .ready: .ready
        case .stopping: .stopping
        }
    }

    /// Whether the table must report `id`'s count reaching 0 while its entry is open: it has a `ttl` (the timer
    /// re-arms from that release), or `config` no longer has it (it stops after its last request).
    private static func watchesIdle(_ id: String, config: ProxyConfig) -> Bool {
        guard let model = config.models[id] else { return true }
        return model.ttl != nil
    }

    /// Time on `clock` as offsets from now: reading it, and sleeping until an offset (the clock's instant type is
    /// opened once, here).
    private static func timeline<C: Clock<Duration>>(_ clock: C)
        -> (elapsed: @Sendable () -> Duration, sleepUntil: @Sendable (Duration) async throws -> Void)
    {
        let origin = clock.now
        return (
            { origin.duration(to: clock.now) },
            { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) }
        )
    }

    private static func report(_ problem: String, logs: LogBuffer, logger: Logger) {
        logs.append(problem, source: "proxy")
        logger.error("\(problem)")
    }

    /// Suspends until something a waiting request depends on changes (a start or stop ends, a lease is released),
    /// or the calling task is cancelled.
    private func waitForChange() async {
        let id = nextWaiterID
        nextWaiterID += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    changeWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.resumeWaiter(id) }
        }
    }

    private func resumeWaiter(_ id: Int) {
        changeWaiters.removeValue(forKey: id)?.resume()
    }

    private func notifyChange() {
        runQueue()
        let waiters = changeWaiters
        changeWaiters.removeAll()
        for waiter in waiters.values { waiter.resume() }
    }
}
