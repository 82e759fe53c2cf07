/// llama-swap's `routing.scheduler` (`use: fifo`): the order in which requests waiting for a model are served when
/// a swap slot frees, and what to do for each of them. A value with no IO and no clock: the supervisor enqueues each
/// request that needs its model started (or swapped in), calls ``drain(running:engine:)`` whenever something a
/// waiter depends on changed (a start or stop ended, a lease was released, a request arrived or left), and performs
/// the returned ``Decision``s in order, in the same actor turn.
///
/// Rules (llama-swap `internal/router/scheduler/fifo.go` at 0811ad0c, `settings.fifo.priority`):
/// - The queue is ordered by the requested model's priority, highest first (`priority` maps a model id to a whole
///   number; unlisted models have 0); requests of equal priority keep their arrival order. A new request goes just
///   before the first waiter of strictly lower priority (llama-swap's `enqueue`).
/// - A drain walks the whole queue once, in that order. For each waiter it asks the swap engine (``SwapEngine``) what
///   must happen, given the models that run *as the waiters before it left them*: a waiter that starts a model, or
///   stops models to make room, changes what the waiters after it see. So when a slot frees, the first waiter in
///   queue order takes it; a later waiter that would evict the model the first one just started waits behind it
///   (its model counts as serving, since the first waiter's request is in flight for it).
/// - A waiter whose model is ready or starting is admitted (it joins that load); one whose model can start now starts
///   it and is admitted; both leave the queue. A waiter that must first stop idle models stops them and stays queued
///   (it keeps its place: a stopping model blocks the waiters behind it that need the same room); a waiter blocked by
///   busy models stays queued, and the idle models its plan names are stopped meanwhile.
/// - A blocked waiter does not block the waiters behind it that are not in its way (llama-swap walks the whole queue,
///   and so do we): a request for a model that may run beside everything starts at once whatever its priority.
///
/// How the supervisor drives it:
/// ```swift
/// queue.enqueue(ticket: arrival, model: id)
/// for decision in queue.drain(running: plannerView(), engine: engine) { perform(decision) }
/// // a request that leaves (cancelled, failed): queue.remove(ticket:)
/// ```
public struct SchedulerQueue: Sendable, Hashable {
    /// One queued request.
    public struct Waiter: Sendable, Hashable {
        /// Arrival order: a smaller ticket arrived earlier.
        public var ticket: Int
        /// The model id (aliases resolved).
        public var model: String
        public var priority: Int
    }

    /// What one waiter's turn in a drain asks for.
    public enum Step: Sendable, Hashable {
        /// The model is ready or starting: the waiter joins it and leaves the queue. `alsoStop`: idle models the
        /// engine evicts for it (the waiter does not wait for them).
        case admit(alsoStop: [String])
        /// Start the model now; the waiter joins that start and leaves the queue.
        case start
        /// Stop these idle models to make room; the waiter stays queued until they are stopped.
        case makeRoom(stopping: [String])
        /// `busy` models serve requests (or are still stopping); stop `stopNow` (idle) meanwhile; stays queued.
        case wait(busy: [String], stopNow: [String])
    }

    /// One waiter's turn.
    public struct Decision: Sendable, Hashable {
        public var ticket: Int
        public var model: String
        public var step: Step
        /// The engine's swap line for a start (matrix engine), as ``SwapEngine/Decision/swapLine``.
        public var swapLine: String?
    }

    /// Model id → priority; absent models have 0.
    public private(set) var priority: [String: Int]
    /// The waiters in service order.
    public private(set) var waiters: [Waiter] = []

    public init(priority: [String: Int] = [:]) {
        self.priority = priority
    }

    /// Whether `ticket` is queued.
    public func contains(ticket: Int) -> Bool { waiters.contains { $0.ticket == ticket } }

    /// Queues a request for `model`; `ticket` is its arrival number (a request queued again keeps its first one,
    /// and with it its place among equals). A ticket already queued is left where it is.
    public mutating func enqueue(ticket: Int, model: String) {
        guard !contains(ticket: ticket) else { return }
        let waiter = Waiter(ticket: ticket, model: model, priority: priority[model, default: 0])
        let index = waiters.firstIndex { Self.precedes(waiter, $0) } ?? waiters.endIndex
        waiters.insert(waiter, at: index)
    }

    /// Takes a request out of the queue (it was cancelled, failed or admitted).
    public mutating func remove(ticket: Int) {
        waiters.removeAll { $0.ticket == ticket }
    }

    /// New priorities (a reload): queued waiters take them and are reordered by them, arrival order among equals.
    public mutating func updatePriority(_ priority: [String: Int]) {
        self.priority = priority
        for index in waiters.indices { waiters[index].priority = priority[waiters[index].model, default: 0] }
        waiters.sort(by: Self.precedes)
    }

    /// One pass over the queue, in order (see the rules above). `running` is every model that is not stopped, with
    /// its requests in flight (waiters included); the admitted and started waiters leave the queue.
    public mutating func drain(running: [SwapPlanner.RunningModel], engine: SwapEngine) -> [Decision] {
        var view = running
        var decisions: [Decision] = []
        var admitted: Set<Int> = []
        for waiter in waiters {
            let planned = engine.plan(for: waiter.model, running: view)
            let step: Step
            switch planned.plan {
            case .alreadyRunning(let alsoStop):
                step = .admit(alsoStop: alsoStop)
                Self.mark(alsoStop, stoppingIn: &view)
                admitted.insert(waiter.ticket)
            case .start(let afterStopping) where afterStopping.isEmpty:
                if let index = view.firstIndex(where: { $0.id == waiter.model }), view[index].phase != .stopping {
                    step = .admit(alsoStop: [])  // an engine that says "start" for a model that runs: join it
                } else {
                    step = .start
                    let waiting = waiters.filter { $0.model == waiter.model }.count
                    view.removeAll { $0.id == waiter.model }
                    view.append(SwapPlanner.RunningModel(id: waiter.model, phase: .starting, inFlight: waiting))
                }
                admitted.insert(waiter.ticket)
            case .start(let afterStopping):
                step = .makeRoom(stopping: afterStopping)
                Self.mark(afterStopping, stoppingIn: &view)
            case .wait(let busy, let stopNow):
                step = .wait(busy: busy, stopNow: stopNow)
                Self.mark(stopNow, stoppingIn: &view)
            }
            decisions.append(Decision(ticket: waiter.ticket, model: waiter.model, step: step, swapLine: planned.swapLine))
        }
        waiters.removeAll { admitted.contains($0.ticket) }
        return decisions
    }

    /// Service order: higher priority first, then earlier arrival.
    static func precedes(_ a: Waiter, _ b: Waiter) -> Bool {
        a.priority != b.priority ? a.priority > b.priority : a.ticket < b.ticket
    }

    private static func mark(_ ids: [String], stoppingIn view: inout [SwapPlanner.RunningModel]) {
        for index in view.indices where ids.contains(view[index].id) { view[index].phase = .stopping }
    }
}
