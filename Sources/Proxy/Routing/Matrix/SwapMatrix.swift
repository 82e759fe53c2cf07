/// llama-swap's `matrix` swap engine (`routing.router.use: matrix`), compiled: which models may run together and what
/// a request must evict. Pure and immutable: ``decide(running:requested:cost:)`` is a function of its arguments.
///
/// The rules (llama-swap's `internal/config/matrix.go`, `internal/matrix/`, and the matrix section of its
/// `config.example.yaml`):
/// - Each set's expression lists combinations of models that may run together: `&` runs operands together, `|`
///   picks one of them, `&` binds tighter than `|`, `()` groups, and `+name` stands for the set `name`'s
///   combinations. `(g | q) & v` allows `[g, v]` and `[q, v]`.
/// - Subset semantics: a combination also allows any part of it. Only the requested model is started; nothing is
///   preloaded.
/// - Identifiers are var keys or model ids; a var wins when its key is also a model id. Var values are model ids,
///   never aliases. A model id with characters outside letters, digits, `_`, `-`, `.` needs a var.
/// - A request for X: if X runs, nothing changes. Otherwise every combination containing X is a candidate, costing
///   the summed eviction cost of the running models it does not contain; the cheapest wins, ties going to the set
///   ranked first, then to the combination listed first. A model in no set runs alone: everything else stops.
/// - Rank order is llama-swap's: definition order, except that a set comes after the sets it references
///   (`topologicalOrder` in `internal/matrix/program.go`). For sets without references that is definition order.
/// - Eviction cost: llama-swap uses `evict_costs` multiplier × the model's median measured load time (ms); we
///   measure no load times yet, so the caller passes the cost function, multiplier applied. With no measurements,
///   llama-swap's cost is the multiplier alone, which is what ``decide(running:requested:)`` uses.
///
/// Why the projection and not a list of combinations: see ``MatrixProjection``.
public struct SwapMatrix: Sendable {
    struct CompiledSet: Sendable, Hashable {
        var name: String
        var expression: String
        var root: MatrixNode
        /// Every model the expression can name, directly or through references.
        var models: Swift.Set<String>
    }

    /// Sets in definition order.
    let sets: [CompiledSet]
    /// Indexes into ``sets``, in the order ties are broken.
    let rankOrder: [Int]
    /// Resolved `evict_costs`: model id → multiplier (models not listed: 1).
    let multipliers: [String: Int]

    /// Set names in definition order.
    public var setNames: [String] { sets.map(\.name) }

    /// Set names in the order ties are broken: definition order, a set after the sets it references.
    public var rankedSetNames: [String] { rankOrder.map { sets[$0].name } }

    /// The `evict_costs` multiplier of `model` (a model id), 1 when none is configured.
    public func multiplier(for model: String) -> Int { multipliers[model] ?? 1 }

    /// The models the set `name` can allow, sorted; nil for an unknown set.
    public func models(inSet name: String) -> [String]? {
        guard let set = sets.first(where: { $0.name == name }) else { return nil }
        return set.models.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The expression of the set `name` as written (for logs, as llama-swap logs `dsl=`); nil for an unknown set.
    public func expression(ofSet name: String) -> String? {
        sets.first { $0.name == name }?.expression
    }

    /// Whether `model` appears in some set (a model in none runs alone).
    public func isInSomeSet(_ model: String) -> Bool { sets.contains { $0.models.contains(model) } }

    init(sets: [CompiledSet], rankOrder: [Int], multipliers: [String: Int]) {
        self.sets = sets
        self.rankOrder = rankOrder
        self.multipliers = multipliers
    }
}
