extension SwapMatrix {
    /// The decision for a request to `requested` (a model id, aliases resolved) while `running` run, with each
    /// running model's eviction cost from `cost`: the `evict_costs` multiplier already applied (llama-swap:
    /// multiplier × median measured load time in ms). Costs below 1 count as 1 (a free eviction would make a larger
    /// combination no better than a smaller one); sums saturate instead of overflowing.
    ///
    /// `running` is every model that is up or starting (llama-swap counts a swap in flight as running); its order
    /// and duplicates do not matter.
    public func decide(running: [String], requested: String, cost: (String) -> Int) -> MatrixSwapDecision {
        var others: [String] = []
        var seen: Swift.Set<String> = []
        var requestedRuns = false
        for model in running where seen.insert(model).inserted {
            if model == requested { requestedRuns = true } else { others.append(model) }
        }

        if requestedRuns {
            let all = sortedIDs(others + [requested])
            return MatrixSwapDecision(
                requested: requested, keep: all, evict: [], start: nil, set: firstSet(holdingAll: all),
                combination: all, cost: 0)
        }

        let costs = others.map { Swift.max(1, cost($0)) }
        var projection = MatrixProjection(relevant: [requested] + others, roots: sets.map(\.root))
        let requestedBit = projection.bits[requested]!
        var best: (cost: Int, set: Int, state: MatrixProjection.State)?
        for index in rankOrder where sets[index].models.contains(requested) {
            for state in projection.states(ofSet: index) where state.mask.contains(requestedBit) {
                var total = 0
                for (position, model) in others.enumerated() where !state.mask.contains(projection.bits[model]!) {
                    total = Self.saturatingSum(total, costs[position])
                }
                if best == nil || total < best!.cost { best = (total, index, state) }
            }
        }

        guard let best else {
            return MatrixSwapDecision(
                requested: requested, keep: [], evict: sortedIDs(others), start: requested, set: nil,
                combination: [requested], cost: costs.reduce(0, Self.saturatingSum))
        }
        let keep = others.filter { best.state.mask.contains(projection.bits[$0]!) }
        let evict = others.filter { !best.state.mask.contains(projection.bits[$0]!) }
        return MatrixSwapDecision(
            requested: requested, keep: sortedIDs(keep), evict: sortedIDs(evict), start: requested,
            set: sets[best.set].name, combination: best.state.witness.models, cost: best.cost)
    }

    /// ``decide(running:requested:cost:)`` with each model's `evict_costs` multiplier as its cost: llama-swap's
    /// cost before it has measured any load.
    public func decide(running: [String], requested: String) -> MatrixSwapDecision {
        decide(running: running, requested: requested) { multiplier(for: $0) }
    }

    /// Whether some set allows all of `models` together (llama-swap's `CanContainAll`, for checks such as preload
    /// lists). True for no models.
    public func canRunTogether(_ models: [String]) -> Bool {
        firstSet(holdingAll: models) != nil || models.isEmpty
    }

    /// The combinations the set `name` allows, each sorted by UTF-8 bytes, in expansion order, without repeats
    /// (`(a | b) & (a | b)` gives `[a]`, `[a, b]`, `[b]`). Nil for an unknown set, or when a list would exceed
    /// `limit` combinations (expansions grow as products).
    public func combinations(ofSet name: String, limit: Int = 10_000) -> [[String]]? {
        guard let index = sets.firstIndex(where: { $0.name == name }) else { return nil }
        var projection = MatrixProjection(
            relevant: sortedIDs(Array(sets[index].models)), roots: sets.map(\.root), pruneDominated: false,
            limit: limit)
        let states = projection.states(ofSet: index)
        guard !projection.overflowed else { return nil }
        return states.map(\.witness.models)
    }

    /// The first set in rank order with a combination holding every one of `models`.
    private func firstSet(holdingAll models: [String]) -> String? {
        guard !models.isEmpty else { return nil }
        var projection = MatrixProjection(relevant: models, roots: sets.map(\.root))
        var required = projection.emptyMask
        for bit in projection.bits.values { required.insert(bit) }
        for index in rankOrder where models.allSatisfy(sets[index].models.contains) {
            if projection.states(ofSet: index).contains(where: { required.isSubset(of: $0.mask) }) {
                return sets[index].name
            }
        }
        return nil
    }

    private func sortedIDs(_ ids: [String]) -> [String] {
        ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func saturatingSum(_ left: Int, _ right: Int) -> Int {
        let (sum, overflow) = left.addingReportingOverflow(right)
        return overflow ? Int.max : sum
    }
}
