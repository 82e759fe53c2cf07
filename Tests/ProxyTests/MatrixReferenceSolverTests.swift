import SeededRandom
import Testing

@testable import Proxy

/// The decision checked against the plainest reading of the rules, on random matrices: expand every set into all
/// its combinations (the full product, repeats and all), walk the sets in rank order and the combinations in
/// order, and take the first of the lowest cost. The engine projects and prunes instead; the two must agree on
/// every field, the chosen combination included.
@Suite struct MatrixReferenceSolverTests {
    static let universe = ["t", "a", "b", "c", "d", "e"]

    /// The shared seeded generator, so a failing seed can be replayed; `below`/`chance` are this suite's draws.
    typealias Generator = SplitMix64

    /// An expression over `universe`, referencing only sets after `index` (so there is no circle, and rank
    /// order differs from definition order).
    static func expression(_ rng: inout Generator, depth: Int, index: Int, setCount: Int) -> String {
        if depth == 0 || rng.chance(30) {
            if index + 1 < setCount, rng.chance(20) { return "+s\(index + 1 + rng.below(setCount - index - 1))" }
            return universe[rng.below(universe.count)]
        }
        let count = 2 + rng.below(2)
        let operands = (0..<count).map { _ in expression(&rng, depth: depth - 1, index: index, setCount: setCount) }
        return "(" + operands.joined(separator: rng.chance(50) ? " & " : " | ") + ")"
    }

    // MARK: The reference

    /// Every combination, in order, repeats kept: `|` concatenates, `&` takes the product, left slowest.
    static func expand(_ expression: MatrixExpression, sets: [String: MatrixExpression]) -> [Set<String>] {
        switch expression {
        case .identifier(let name, _): return [[name]]
        case .reference(let name, _): return expand(sets[name]!, sets: sets)
        case .any(let operands): return operands.flatMap { expand($0, sets: sets) }
        case .all(let operands):
            var result: [Set<String>] = [[]]
            for operand in operands {
                let right = expand(operand, sets: sets)
                result = result.flatMap { left in right.map { left.union($0) } }
            }
            return result
        }
    }

    /// How many combinations `expand` would list (saturating), so oversized random matrices are redrawn before
    /// they are expanded: expanding them first made this suite the slowest CPU hog of the whole test run.
    static func count(_ expression: MatrixExpression, sets: [String: MatrixExpression]) -> Int {
        switch expression {
        case .identifier: return 1
        case .reference(let name, _): return count(sets[name]!, sets: sets)
        case .any(let operands): return operands.reduce(0) { min(1 << 20, $0 + count($1, sets: sets)) }
        case .all(let operands): return operands.reduce(1) { min(1 << 20, $0 * count($1, sets: sets)) }
        }
    }

    /// llama-swap's rank order: a depth-first walk in definition order, a set after the sets it references.
    static func rankOrder(_ names: [String], _ sets: [String: MatrixExpression]) -> [String] {
        var order: [String] = []
        func references(_ expression: MatrixExpression) -> [String] {
            switch expression {
            case .identifier: return []
            case .reference(let name, _): return [name]
            case .all(let operands), .any(let operands): return operands.flatMap(references)
            }
        }
        func visit(_ name: String) {
            guard !order.contains(name) else { return }
            for reference in references(sets[name]!) { visit(reference) }
            if !order.contains(name) { order.append(name) }
        }
        names.forEach(visit)
        return order
    }

    /// `sets`' names in rank order with every combination of each.
    static func expansions(names: [String], sets: [String: MatrixExpression]) -> [(String, [Set<String>])] {
        rankOrder(names, sets).map { ($0, expand(sets[$0]!, sets: sets)) }
    }

    static func referenceDecision(
        ranked: [(String, [Set<String>])], running: [String], requested: String, cost: (String) -> Int
    ) -> MatrixSwapDecision {
        var others: [String] = []
        for model in running where model != requested && !others.contains(model) { others.append(model) }
        let sorted = { (ids: [String]) in ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
        if running.contains(requested) {
            let all = sorted(others + [requested])
            let holder = ranked.first { $0.1.contains { Set(all).isSubset(of: $0) } }?.0
            return MatrixSwapDecision(
                requested: requested, keep: all, evict: [], start: nil, set: holder, combination: all, cost: 0)
        }
        var best: (cost: Int, set: String, combination: Set<String>)?
        for (name, combinations) in ranked {
            for combination in combinations where combination.contains(requested) {
                let total = others.filter { !combination.contains($0) }.reduce(0) { $0 + max(1, cost($1)) }
                if best == nil || total < best!.cost { best = (total, name, combination) }
            }
        }
        guard let best else {
            return MatrixSwapDecision(
                requested: requested, keep: [], evict: sorted(others), start: requested, set: nil,
                combination: [requested], cost: others.reduce(0) { $0 + max(1, cost($1)) })
        }
        return MatrixSwapDecision(
            requested: requested, keep: sorted(others.filter { best.combination.contains($0) }),
            evict: sorted(others.filter { !best.combination.contains($0) }), start: requested, set: best.set,
            combination: sorted(Array(best.combination)), cost: best.cost)
    }

    // MARK: The check

    static let seeds: [UInt64] = Array(1...40)

    @Test(arguments: seeds)
    func agreesWithTheFullExpansion(_ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var names: [String] = []
        var texts: [String] = []
        var parsed: [String: MatrixExpression] = [:]
        var ranked: [(String, [Set<String>])] = []
        repeat {  // matrices small enough for the full expansion (a few hundred combinations)
            let setCount = 2 + rng.below(3)
            names = (0..<setCount).map { "s\($0)" }
            texts = (0..<setCount).map { Self.expression(&rng, depth: 3, index: $0, setCount: setCount) }
            parsed = [:]
            for (name, text) in zip(names, texts) { parsed[name] = try MatrixExpressionParser.parse(text).get() }
            let total = names.reduce(0) { $0 + Self.count(parsed[$1]!, sets: parsed) }
            ranked = total > 400 ? [] : Self.expansions(names: names, sets: parsed)
        } while ranked.isEmpty
        let matrix = try compiledMatrix(
            matrixDefinition(sets: Array(zip(names, texts))), models: Self.universe + ["z"])
        let costs = Dictionary(uniqueKeysWithValues: (Self.universe + ["z"]).map { ($0, 1 + rng.below(3)) })
        for _ in 0..<25 {
            let running = (Self.universe + ["z"]).filter { _ in rng.chance(40) }.shuffled(using: &rng)
            let requested = (Self.universe + ["z"])[rng.below(Self.universe.count + 1)]
            let expected = Self.referenceDecision(
                ranked: ranked, running: running, requested: requested, cost: { costs[$0]! })
            let actual = matrix.decide(running: running, requested: requested) { costs[$0]! }
            #expect(actual == expected, "seed \(seed): \(zip(names, texts).map { "\($0): \($1)" }) running \(running)")
        }
    }
}
