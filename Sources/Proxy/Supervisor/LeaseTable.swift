import NIOConcurrencyHelpers

/// Each model's requests in flight, and whether a ready model may be leased without the `Supervisor` actor: the one
/// lock-protected table both the actor and the request path (any thread) read and write.
///
/// Why: a lease through the actor costs a `Task` and two thread hops per request, most of a small request's proxy
/// CPU. For a model that is already ready nothing needs the actor's judgement, only a count and a limit. So the count
/// lives here, and the actor opens a fast path per model while nothing it decides depends on that count changing
/// under it.
///
/// Rules (every step is one locked step):
/// - `inFlight` counts leases not yet released, fast or not, plus requests waiting for their model (the actor counts
///   those through ``acquire(_:limit:)``). It never exceeds the model's `concurrencyLimit` and never goes below 0; a
///   release at 0 changes nothing.
/// - A fast acquire (``tryAcquireFast(_:limit:generation:)``) succeeds only when fast leases are accepted at all
///   (``setAccepting(_:)``: the actor turns that off while its scheduler queue holds waiters or the proxy shuts down),
///   the model's entry is open (``open(_:at:)``: the model is ready, with its address and run), the caller's config
///   generation is the table's (when the caller names one), and the count is under the limit. Then the count goes up.
/// - The actor closes an entry (``close(_:)``) before it stops the model or when the model stopped on its own, and
///   turns acceptance off before it reads counts to plan a swap or a shutdown: once closed, no count rises behind its
///   back, so a model it saw idle stays idle (close first, then read).
/// - Every acquire bumps the model's `activity`; a release that brings the count to 0 on an entry that watches idleness
///   records when (`idleSince`, from the injected `now`). The TTL timer remembers the activity it was armed at, and
///   ``closeIfIdle(_:since:)`` closes the entry only if no acquire happened since and none is in flight, in one step:
///   a timer armed before a fast lease never unloads the model under it or because of an earlier release.
/// - ``release(_:)`` says whether the actor must hear of it: always while fast leases are not accepted (waiters may be
///   blocked by this count, or a shutdown waits for it), and when the count reaches 0 on an entry that is not open
///   (starting, stopping, stopped) or that watches idleness (the model has a `ttl`, or a reload removed it).
///   Otherwise the release is complete here.
/// - ``states()`` is what the router's selectors and `upstream.ignorePaths` see (``ModelStateBoard``): every model
///   with a phase or with requests in flight.
final class LeaseTable: Sendable {
    /// Where a ready model's fast leases go.
    struct Open: Sendable, Hashable {
        var address: UpstreamURL
        /// The upstream's run number (which start this is).
        var run: Int
    }

    struct Entry: Sendable, Hashable {
        var inFlight = 0
        /// The phase the actor last set (`nil`: stopped).
        var phase: SwapPlanner.Phase?
        /// Non-nil while fast leases may be taken.
        var open: Open?
        /// Acquires so far, fast or not.
        var activity = 0
        /// The actor wants to hear the count reach 0 even while open (a `ttl`, or removed by a reload).
        var watchIdle = false
        /// When the count last reached 0 with `watchIdle` (or the actor marked the model idle); `nil` after an acquire.
        var idleSince: Duration?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var accepting = true
        var generation = 0
    }

    private let state = NIOLockedValueBox(State())
    private let now: @Sendable () -> Duration

    /// - Parameter now: the time of idleness marks (the supervisor's clock, as an offset).
    init(now: @escaping @Sendable () -> Duration = { .zero }) {
        self.now = now
    }

    // MARK: Request path

    /// A fast lease: the open entry's address, with the count raised; `nil` when the rules above refuse it.
    /// `generation`: the config generation the caller resolved the model in, or `nil` to skip that check.
    func tryAcquireFast(_ id: String, limit: Int, generation: Int? = nil) -> Open? {
        state.withLockedValue { state in
            guard state.accepting, generation.map({ $0 == state.generation }) ?? true,
                var entry = state.entries[id], let open = entry.open, entry.inFlight < limit
            else { return nil }
            entry.inFlight += 1
            entry.activity += 1
            entry.idleSince = nil
            state.entries[id] = entry
            return open
        }
    }

    /// Ends one lease (or one waiting request). Returns whether the actor must hear of it (see the rules).
    func release(_ id: String) -> Bool {
        state.withLockedValue { state in
            guard var entry = state.entries[id], entry.inFlight > 0 else { return false }
            entry.inFlight -= 1
            let idle = entry.inFlight == 0
            if idle && entry.watchIdle { entry.idleSince = now() }
            state.entries[id] = entry
            return !state.accepting || (idle && (entry.open == nil || entry.watchIdle))
        }
    }

    // MARK: Actor side

    /// The actor's own count for a request it will serve or make wait: raised unless at `limit` (then false).
    func acquire(_ id: String, limit: Int) -> Bool {
        state.withLockedValue { state in
            var entry = state.entries[id, default: Entry()]
            guard entry.inFlight < limit else { return false }
            entry.inFlight += 1
            entry.activity += 1
            entry.idleSince = nil
            state.entries[id] = entry
            return true
        }
    }

    /// Whether fast leases are taken at all (off: queue waiters, shutdown, a reload's first step).
    func setAccepting(_ accepting: Bool) {
        state.withLockedValue { $0.accepting = accepting }
    }

    /// The config generation fast acquires that name one must match.
    func setGeneration(_ generation: Int) {
        state.withLockedValue { $0.generation = generation }
    }

    /// Opens `id`'s fast leases on `open` (the model is ready).
    func open(_ id: String, at open: Open) {
        state.withLockedValue { $0.entries[id, default: Entry()].open = open }
    }

    /// Closes `id`'s fast leases (it is about to stop, or stopped).
    func close(_ id: String) {
        state.withLockedValue { state in
            guard state.entries[id]?.open != nil else { return }
            state.entries[id]?.open = nil
        }
    }

    func setPhase(_ id: String, _ phase: SwapPlanner.Phase?) {
        state.withLockedValue { $0.entries[id, default: Entry()].phase = phase }
    }

    func setWatchIdle(_ id: String, _ watch: Bool) {
        state.withLockedValue { $0.entries[id, default: Entry()].watchIdle = watch }
    }

    /// Marks `id` idle from now if nothing is in flight (a start that finished with no request waiting).
    func markIdle(_ id: String) {
        state.withLockedValue { state in
            guard state.entries[id, default: Entry()].inFlight == 0 else { return }
            state.entries[id, default: Entry()].idleSince = now()
        }
    }

    /// The activity and idle mark to arm a TTL timer from; `nil` while a request is in flight or none is marked.
    func idleMark(_ id: String) -> (activity: Int, since: Duration)? {
        state.withLockedValue { state in
            guard let entry = state.entries[id], entry.inFlight == 0, let since = entry.idleSince else { return nil }
            return (entry.activity, since)
        }
    }

    /// The TTL check: if nothing was acquired since `activity` and nothing is in flight, closes the entry and
    /// returns true (the caller stops the model); otherwise changes nothing.
    func closeIfIdle(_ id: String, since activity: Int) -> Bool {
        state.withLockedValue { state in
            guard var entry = state.entries[id], entry.inFlight == 0, entry.activity == activity else { return false }
            entry.open = nil
            state.entries[id] = entry
            return true
        }
    }

    /// Forgets a model with nothing in flight (its slot is gone).
    func remove(_ id: String) {
        state.withLockedValue { state in
            guard let entry = state.entries[id], entry.inFlight == 0 else { return }
            state.entries[id] = nil
        }
    }

    // MARK: Reading

    func inFlight(_ id: String) -> Int { state.withLockedValue { $0.entries[id]?.inFlight ?? 0 } }

    func activity(_ id: String) -> Int { state.withLockedValue { $0.entries[id]?.activity ?? 0 } }

    /// Every model's count (models with none may be absent).
    func counts() -> [String: Int] {
        state.withLockedValue { state in state.entries.compactMapValues { $0.inFlight > 0 ? $0.inFlight : nil } }
    }

    var anyInFlight: Bool { state.withLockedValue { $0.entries.values.contains { $0.inFlight > 0 } } }

    var accepting: Bool { state.withLockedValue { $0.accepting } }

    func entry(_ id: String) -> Entry? { state.withLockedValue { $0.entries[id] } }

    /// The board's view: every model with a phase or requests in flight.
    /// One model's phase (`nil`: stopped), without building every model's state.
    func phase(of model: String) -> SwapPlanner.Phase? {
        state.withLockedValue { $0.entries[model]?.phase }
    }

    func states() -> [String: SelectorChoice.TargetState] {
        state.withLockedValue { state in
            var states: [String: SelectorChoice.TargetState] = [:]
            for (id, entry) in state.entries where entry.phase != nil || entry.inFlight > 0 {
                states[id] = SelectorChoice.TargetState(phase: entry.phase, inFlight: entry.inFlight)
            }
            return states
        }
    }
}
