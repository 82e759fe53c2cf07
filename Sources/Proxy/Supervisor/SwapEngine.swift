/// Decides, for a request to model X, what must happen to the running models first, with the swap engine the config
/// chose (`routing.router.use`). A value with no IO: the supervisor passes what runs (phase and requests in flight)
/// and performs the returned ``SwapPlanner/Plan``; when the plan says `wait`, it asks again each time a request
/// finishes or a model stops.
///
/// Rules:
/// - `group` (llama-swap's default; also top-level `groups:`): ``SwapPlanner``, unchanged.
/// - `matrix`: ``SwapMatrix`` decides which running models X can run beside and which it evicts, as llama-swap's
///   matrix does:
///   - the running models are those starting or ready (llama-swap counts a swap in flight as running); a stopping
///     model is on its way out and takes no part in the choice;
///   - X starting or ready: nothing changes, nothing is stopped (the matrix never evicts for a model that runs);
///   - otherwise the cheapest allowed combination holding X wins (ties: the set ranked first, then the combination
///     listed first); its `evict` models are stopped, then X starts; a model in no set runs alone;
///   - eviction cost: each evicted model's `evict_costs` multiplier (1 when none is set). llama-swap multiplies it by
///     the model's median measured load time; we measure no load times yet, so the multiplier alone is the cost,
///     which is also what llama-swap uses before it has measured any load.
/// - For both engines, our rule on top of llama-swap's: a model serving (or waiting for) a request is never stopped
///   under it. Such a model among the evicted makes X `wait` (the idle ones are stopped meanwhile), and so does a
///   model still stopping that X may not run beside (X itself stopping included).
///
/// How the supervisor drives it:
/// ```swift
/// let decision = engine.plan(for: id, running: runningModels)
/// // log decision.swapLine once per start; perform decision.plan as for SwapPlanner
/// ```
public enum SwapEngine: Sendable {
    /// `routing.router.use: group`: the groups decide.
    case groups(SwapPlanner)
    /// `routing.router.use: matrix`: the compiled matrix decides.
    case matrix(SwapMatrix)

    /// What to do for one request, and what to log when it leads to a start.
    public struct Decision: Sendable, Hashable {
        /// The plan, with ``SwapPlanner``'s meaning.
        public var plan: SwapPlanner.Plan
        /// For the matrix engine when X must start: the decision as llama-swap logs its swaps (`set=… evict=…
        /// cost=…`); nil otherwise.
        public var swapLine: String?

        public init(plan: SwapPlanner.Plan, swapLine: String? = nil) {
            self.plan = plan
            self.swapLine = swapLine
        }
    }

    /// The engine `config` asks for. The loader refuses a matrix that does not compile; a config built in code may
    /// still hold one, and then the groups decide and `problem` says why (for the log).
    public static func make(config: ProxyConfig) -> (engine: SwapEngine, problem: String?) {
        guard config.routing.engine == .matrix, let settings = config.routing.matrix else {
            return (.groups(SwapPlanner(config: config)), nil)
        }
        switch SwapMatrix.compile(settings.definition, models: Set(config.models.keys), aliases: config.aliases) {
        case .success(let matrix):
            return (.matrix(matrix), nil)
        case .failure(let errors):
            return (
                .groups(SwapPlanner(config: config)),
                "the matrix does not compile (\(errors)); the groups decide swaps instead"
            )
        }
    }

    /// The decision for a request to `requested` (a model id, aliases resolved) given the models that are not
    /// stopped.
    public func plan(for requested: String, running: [SwapPlanner.RunningModel]) -> Decision {
        switch self {
        case .groups(let planner):
            return Decision(plan: planner.plan(for: requested, running: running))
        case .matrix(let matrix):
            return Self.plan(matrix, for: requested, running: running)
        }
    }

    private static func plan(_ matrix: SwapMatrix, for requested: String, running: [SwapPlanner.RunningModel])
        -> Decision
    {
        let target = running.first { $0.id == requested }
        if let target, target.phase != .stopping {
            return Decision(plan: .alreadyRunning(alsoStop: []))
        }
        let up = running.filter { $0.phase != .stopping && $0.id != requested }
        let decision = matrix.decide(running: up.map(\.id), requested: requested)
        let inFlight = Dictionary(up.map { ($0.id, $0.inFlight) }, uniquingKeysWith: +)
        let idle = decision.evict.filter { inFlight[$0, default: 0] == 0 }
        var busy = decision.evict.filter { inFlight[$0, default: 0] > 0 }
        let staying = decision.keep + [requested]
        for model in running where model.phase == .stopping && model.id != requested {
            if !matrix.canRunTogether(staying + [model.id]) { busy.append(model.id) }
        }
        busy.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if target?.phase == .stopping { busy.insert(requested, at: 0) }
        let line = swapLine(decision, matrix: matrix)
        if busy.isEmpty { return Decision(plan: .start(afterStopping: idle), swapLine: line) }
        return Decision(plan: .wait(busy: busy, stopNow: idle), swapLine: line)
    }

    /// `matrix swap: model=c set=solo dsl="c" keep=[] evict=[a b] cost=2`, in the spirit of llama-swap's line.
    static func swapLine(_ decision: MatrixSwapDecision, matrix: SwapMatrix) -> String {
        let set = decision.set ?? "(none: runs alone)"
        let dsl = decision.set.flatMap { matrix.expression(ofSet: $0) } ?? decision.requested
        let keep = decision.keep.joined(separator: " ")
        let evict = decision.evict.joined(separator: " ")
        return "matrix swap: model=\(decision.requested) set=\(set) dsl=\"\(dsl)\" keep=[\(keep)] evict=[\(evict)]"
            + " cost=\(decision.cost)"
    }
}
