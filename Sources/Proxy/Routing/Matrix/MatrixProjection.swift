/// Evaluates compiled set expressions for one query, seeing only the models that matter to it.
///
/// Listing every combination a set allows can explode (ten groups of ten alternatives are 10¹⁰ combinations), so,
/// as llama-swap's solver does (`internal/matrix/doc.go`), a query projects each combination onto the models it
/// cares about (the requested one and the running ones): combinations that differ only in other models become
/// one, and only the first of them (in expansion order) is kept, with a witness of its full model list. The work
/// then grows with the distinct projections (at most 2ⁿ for n models that matter), not with the expansion.
///
/// Expansion order: `a | b` lists `a`'s combinations, then `b`'s; `a & b` pairs them with `a`'s choice varying
/// slowest. With `pruneDominated`, a combination whose models all appear in one listed *before* it is dropped too:
/// eviction costs are positive, so it can never be a strictly cheaper choice nor an earlier one of equal cost, and
/// decisions do not change (the table tests check this against a plain expansion). Unlike llama-swap's frontier,
/// a later superset never displaces an earlier combination, which keeps ties in expansion order exactly.
struct MatrixProjection {
    /// One distinct projected combination and the first full combination that produced it.
    struct State: Sendable, Hashable {
        var mask: MatrixModelMask
        var witness: MatrixWitness
    }

    /// Bit index of each model that matters.
    let bits: [String: Int]
    private let roots: [MatrixNode]
    private let pruneDominated: Bool
    private let limit: Int?
    private var memo: [Int: [State]] = [:]
    /// Some list exceeded `limit` and was cut short: the result is incomplete.
    private(set) var overflowed = false

    /// A projection onto `relevant` (duplicates ignored) over the sets whose compiled expressions are `roots`.
    /// `limit` caps every intermediate list (for listings; a decision passes none).
    init(relevant: [String], roots: [MatrixNode], pruneDominated: Bool = true, limit: Int? = nil) {
        var bits: [String: Int] = [:]
        for model in relevant where bits[model] == nil { bits[model] = bits.count }
        self.bits = bits
        self.roots = roots
        self.pruneDominated = pruneDominated
        self.limit = limit
    }

    /// The empty combination's mask, sized for this projection.
    var emptyMask: MatrixModelMask { MatrixModelMask(bitCount: bits.count) }

    /// The distinct projected combinations of the set at `index`, in expansion order.
    mutating func states(ofSet index: Int) -> [State] {
        if let known = memo[index] { return known }
        let states = states(of: roots[index])
        memo[index] = states
        return states
    }

    private mutating func states(of node: MatrixNode) -> [State] {
        switch node {
        case .model(let id):
            var mask = emptyMask
            if let bit = bits[id] { mask.insert(bit) }
            return [State(mask: mask, witness: .model(id))]
        case .set(let index):
            return states(ofSet: index)
        case .any(let operands):
            var result = StateList()
            for operand in operands {
                for state in states(of: operand) where !add(state, to: &result) { return result.states }
            }
            return result.states
        case .all(let operands):
            var result = [State(mask: emptyMask, witness: .none)]
            for operand in operands {
                let right = states(of: operand)
                var combined = StateList()
                pairs: for left in result {
                    for choice in right {
                        let state = State(
                            mask: left.mask.union(choice.mask), witness: .union(left.witness, choice.witness))
                        if !add(state, to: &combined) { break pairs }
                    }
                }
                result = combined.states
            }
            return result
        }
    }

    /// States in order, and their masks for a quick repeat check.
    private struct StateList {
        var states: [State] = []
        var masks: Swift.Set<MatrixModelMask> = []
    }

    /// Appends `state` unless an earlier state makes it redundant. False when the list is full.
    private mutating func add(_ state: State, to list: inout StateList) -> Bool {
        guard !list.masks.contains(state.mask) else { return true }
        if pruneDominated, list.states.contains(where: { state.mask.isSubset(of: $0.mask) }) { return true }
        if let limit, list.states.count >= limit {
            overflowed = true
            return false
        }
        list.states.append(state)
        list.masks.insert(state.mask)
        return true
    }
}
