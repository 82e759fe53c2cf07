import Testing

@testable import Proxy

struct MatrixDecisionCase: CustomTestStringConvertible, Sendable {
    var name: String
    var matrix: MatrixDefinition = matrixExample
    var models: [String] = matrixExampleModels
    var running: [String]
    var requested: String
    /// Injected eviction costs (multiplier applied); nil: the multipliers alone.
    var costs: [String: Int]?
    var keep: [String]
    var evict: [String]
    /// The set chosen; nil when the requested model runs alone (or runs already outside any common set).
    var set: String?
    var cost: Int
    /// The chosen combination, when the row pins it.
    var combination: [String]?
    var testDescription: String { name }
}

private let g = "gemma-model"
private let q = "qwen-model"
private let m = "mistral-model"
private let v = "voxtral-model"
private let e = "reranker-model"
private let big = "llama-70B"
private let sd = "stable-diffusion"

@Suite struct MatrixDecisionTests {
    /// llama-swap's example matrix: standard (g|q|m)&v, with_rerank (g|q)&v&e, creative (g|q)&sd, full L;
    /// evict costs v 50, L 30; `solo` and `solo2` are in no set.
    static let example: [MatrixDecisionCase] = [
        MatrixDecisionCase(
            name: "nothing runs: start, first set holding it", running: [], requested: g, keep: [], evict: [],
            set: "standard", cost: 0, combination: [g, v]),
        MatrixDecisionCase(
            name: "a compatible model stays", running: [v], requested: g, keep: [v], evict: [], set: "standard",
            cost: 0),
        MatrixDecisionCase(
            name: "switching LLM keeps the TTS", running: [g, v], requested: q, keep: [v], evict: [g],
            set: "standard", cost: 1),
        MatrixDecisionCase(
            name: "the set that keeps more wins over the earlier set", running: [g, v, e], requested: q,
            keep: [e, v], evict: [g], set: "with_rerank", cost: 1, combination: [q, e, v].sorted()),
        MatrixDecisionCase(
            name: "a model alone in its set evicts everything", running: [g, v], requested: big, keep: [],
            evict: [g, v], set: "full", cost: 51, combination: [big]),
        MatrixDecisionCase(
            name: "leaving the big model costs its multiplier", running: [big], requested: g, keep: [], evict: [big],
            set: "standard", cost: 30),
        MatrixDecisionCase(
            name: "the costly TTS is kept over image generation", running: [v, sd], requested: g, keep: [v],
            evict: [sd], set: "standard", cost: 1),
        MatrixDecisionCase(
            name: "a later set wins when it evicts less", running: [sd], requested: q, keep: [sd], evict: [],
            set: "creative", cost: 0, combination: [q, sd]),
        MatrixDecisionCase(
            name: "a model in no set runs alone", running: [g, v], requested: "solo", keep: [], evict: [g, v],
            set: nil, cost: 51, combination: ["solo"]),
        MatrixDecisionCase(
            name: "a model in no set replaces another such model", running: ["solo"], requested: "solo2", keep: [],
            evict: ["solo"], set: nil, cost: 1),
        MatrixDecisionCase(
            name: "a running model in no set is evicted by a set model", running: ["solo"], requested: g, keep: [],
            evict: ["solo"], set: "standard", cost: 1),
        MatrixDecisionCase(
            name: "a running model the config does not know is evicted", running: ["ghost", v], requested: q,
            keep: [v], evict: ["ghost"], set: "standard", cost: 1),
        MatrixDecisionCase(
            name: "already running with a compatible set: everything stays", running: [g, v], requested: v,
            keep: [g, v], evict: [], set: "standard", cost: 0, combination: [g, v]),
        MatrixDecisionCase(
            name: "already running in the bigger set: everything stays", running: [q, v, e], requested: q,
            keep: [q, v, e].sorted(), evict: [], set: "with_rerank", cost: 0),
        MatrixDecisionCase(
            name: "already running: nothing is evicted even outside any set", running: ["solo", g], requested: g,
            keep: [g, "solo"], evict: [], set: nil, cost: 0),
        MatrixDecisionCase(
            name: "running order and repeats do not matter", running: [v, g, v, g], requested: q, keep: [v],
            evict: [g], set: "standard", cost: 1),
        MatrixDecisionCase(
            name: "injected costs: a slow-loading image model outweighs the TTS", running: [v, sd], requested: g,
            costs: [v: 50 * 800, sd: 1 * 90_000], keep: [sd], evict: [v], set: "creative", cost: 40_000),
    ]

    /// Ties: the set ranked first, then the combination listed first.
    static let ties: [MatrixDecisionCase] = [
        MatrixDecisionCase(
            name: "nothing runs: the first set wins",
            matrix: matrixDefinition(sets: [("first", "a & b"), ("second", "a & c")]),
            models: ["a", "b", "c"], running: [], requested: "a", keep: [], evict: [], set: "first", cost: 0,
            combination: ["a", "b"]),
        MatrixDecisionCase(
            name: "equal cost: the first set wins",
            matrix: matrixDefinition(sets: [("first", "a & b"), ("second", "a & c")]),
            models: ["a", "b", "c"], running: ["b", "c"], requested: "a", keep: ["b"], evict: ["c"], set: "first",
            cost: 1),
        MatrixDecisionCase(
            name: "equal cost, sets swapped: the other first set wins",
            matrix: matrixDefinition(sets: [("first", "a & c"), ("second", "a & b")]), models: ["a", "b", "c"],
            running: ["b", "c"], requested: "a", keep: ["c"], evict: ["b"], set: "first", cost: 1),
        MatrixDecisionCase(
            name: "equal cost in one set: the first alternative wins",
            matrix: matrixDefinition(sets: [("s", "a & (b | c)")]), models: ["a", "b", "c"], running: ["b", "c"],
            requested: "a", keep: ["b"], evict: ["c"], set: "s", cost: 1),
        MatrixDecisionCase(
            name: "equal cost in one set, alternatives swapped",
            matrix: matrixDefinition(sets: [("s", "a & (c | b)")]), models: ["a", "b", "c"], running: ["b", "c"],
            requested: "a", keep: ["c"], evict: ["b"], set: "s", cost: 1),
        MatrixDecisionCase(
            name: "a referenced set ranks before the set referencing it (llama-swap's order)",
            matrix: matrixDefinition(sets: [("A", "(t & c) | +B"), ("B", "t & b")]), models: ["t", "b", "c"],
            running: ["b", "c"], requested: "t", keep: ["b"], evict: ["c"], set: "B", cost: 1),
        MatrixDecisionCase(
            name: "a cost decides before order (llama-swap's EvictCostsPreferred)",
            matrix: matrixDefinition(
                costs: [("b", 10), ("c", 1)], sets: [("a_with_c", "a & c"), ("a_with_b", "a & b")]),
            models: ["a", "b", "c"], running: ["b", "c"], requested: "a", keep: ["b"], evict: ["c"],
            set: "a_with_b", cost: 1),
        MatrixDecisionCase(
            name: "measured load time decides (llama-swap's MeasuredLoadTimeDrivesEviction)",
            matrix: matrixDefinition(sets: [("a_with_c", "a & c"), ("a_with_b", "a & b")]), models: ["a", "b", "c"],
            running: ["b", "c"], requested: "a", costs: ["b": 5000, "c": 100], keep: ["b"], evict: ["c"],
            set: "a_with_b", cost: 100),
        MatrixDecisionCase(
            name: "three of four slots: the first equal-cost combination (llama-swap's lexical tie-break)",
            matrix: matrixDefinition(sets: [("pool", "t | a | b | c"), ("all", "+pool & +pool & +pool")]),
            models: ["t", "a", "b", "c"], running: ["a", "b", "c"], requested: "t", keep: ["a", "b"],
            evict: ["c"], set: "all", cost: 1, combination: ["a", "b", "t"]),
        // llama-swap's frontier drops {a} when the later {a, b} arrives, so it ranks x's combination first and
        // evicts a. We keep expansion order: a's alternative is listed first, and keeping a and b evicts x.
        MatrixDecisionCase(
            name: "an earlier alternative keeps its place when a later one contains it",
            matrix: matrixDefinition(sets: [("s", "t & (a | x | a & b) & b")]), models: ["t", "a", "b", "x"],
            running: ["a", "b", "x"], requested: "t", keep: ["a", "b"], evict: ["x"], set: "s", cost: 1,
            combination: ["a", "b", "t"]),
        MatrixDecisionCase(
            name: "sums saturate instead of wrapping (llama-swap's RankSumsDoNotWrap)",
            matrix: matrixDefinition(sets: [("pool", "t | a | b | c"), ("all", "+pool & +pool & +pool")]),
            models: ["t", "a", "b", "c"], running: ["a", "b", "c"], requested: "t",
            costs: ["a": Int.max, "b": Int.max, "c": 1], keep: ["a", "b"], evict: ["c"], set: "all", cost: 1),
        MatrixDecisionCase(
            name: "an injected cost below 1 counts as 1: the set that keeps the model wins",
            matrix: matrixDefinition(sets: [("solo_a", "a"), ("a_b", "a & b")]), models: ["a", "b"], running: ["b"],
            requested: "a", costs: ["b": 0], keep: ["b"], evict: [], set: "a_b", cost: 0),
        MatrixDecisionCase(
            name: "alone: saturated sum", matrix: matrixDefinition(sets: [("s", "a & b")]), models: ["a", "b", "x"],
            running: ["a", "b"], requested: "x", costs: ["a": Int.max, "b": Int.max], keep: [], evict: ["a", "b"],
            set: nil, cost: Int.max),
        MatrixDecisionCase(
            name: "a superset alternative keeps both (llama-swap's DominatedProjection)",
            matrix: matrixDefinition(sets: [("preferred", "target & (a | (a & b))")]), models: ["target", "a", "b"],
            running: ["a", "b"], requested: "target", keep: ["a", "b"], evict: [], set: "preferred", cost: 0,
            combination: ["a", "b", "target"]),
        MatrixDecisionCase(
            name: "overlapping references (llama-swap's OverlappingReferences)",
            matrix: matrixDefinition(sets: [("base", "a & b"), ("extended", "target & +base & b")]),
            models: ["target", "a", "b"], running: ["a", "b"], requested: "target", keep: ["a", "b"], evict: [],
            set: "extended", cost: 0, combination: ["a", "b", "target"]),
        MatrixDecisionCase(
            name: "a requested model in no set (llama-swap's TargetAbsent)",
            matrix: matrixDefinition(sets: [("known", "a & b")]), models: ["a", "b", "missing"], running: ["a", "b"],
            requested: "missing", keep: [], evict: ["a", "b"], set: nil, cost: 2, combination: ["missing"]),
        MatrixDecisionCase(
            name: "vars and refs (llama-swap's WithRef)",
            matrix: matrixDefinition(
                vars: [("g", "gemma"), ("q", "qwen"), ("m", "mistral"), ("v", "voxtral"), ("e", "reranker")],
                sets: [("llms", "g | q | m"), ("with_tts", "+llms & v"), ("mega", "+with_tts & e")]),
            models: ["gemma", "qwen", "mistral", "voxtral", "reranker"], running: ["gemma", "voxtral"],
            requested: "reranker", keep: ["gemma", "voxtral"], evict: [], set: "mega", cost: 0,
            combination: ["gemma", "reranker", "voxtral"]),
        MatrixDecisionCase(
            name: "two single-model sets swap (llama-swap's SwapEvictsConflicting)",
            matrix: matrixDefinition(sets: [("s_a", "a"), ("s_b", "b")]), models: ["a", "b"], running: ["a"],
            requested: "b", keep: [], evict: ["a"], set: "s_b", cost: 1),
    ]

    @Test(arguments: example + ties)
    func decides(_ row: MatrixDecisionCase) throws {
        let matrix = try compiledMatrix(row.matrix, models: row.models)
        let decision =
            if let costs = row.costs {
                matrix.decide(running: row.running, requested: row.requested) { costs[$0] ?? 1 }
            } else {
                matrix.decide(running: row.running, requested: row.requested)
            }
        let runs = row.running.contains(row.requested)
        #expect(decision.requested == row.requested)
        #expect(decision.keep == row.keep)
        #expect(decision.evict == row.evict)
        #expect(decision.start == (runs ? nil : row.requested))
        #expect(decision.set == row.set)
        #expect(decision.cost == row.cost)
        if let combination = row.combination { #expect(decision.combination == combination) }
        #expect(decision.combination.contains(row.requested))
    }

    /// llama-swap's NoExpansionLimit: a set of 10⁶ combinations decides from the running models alone.
    @Test func largeProductsDecideWithoutExpanding() throws {
        let (definition, names) = matrixProduct(groups: 6, choices: 10)
        let matrix = try compiledMatrix(definition, models: names)
        let running = (0..<6).map { "m-\($0)-9" } + ["outside"]
        let decision = matrix.decide(running: running, requested: "target")
        #expect(decision.evict == ["outside"])
        #expect(decision.set == "large")
        #expect(decision.combination.count == 7)
        #expect(decision.keep.count == 6)
    }

    /// llama-swap's MoreThan64RelevantModels: masks span several words.
    @Test func seventyRunningModels() throws {
        let names = ["target"] + (0..<70).map { "model-\($0)" }
        let matrix = try compiledMatrix(
            matrixDefinition(sets: [("wide", names.joined(separator: " & "))]), models: names + ["outside"])
        let decision = matrix.decide(running: Array(names.dropFirst()) + ["outside"], requested: "target")
        #expect(decision.evict == ["outside"])
        #expect(decision.keep.count == 70)
        #expect(decision.combination.count == 71)
    }

    static let together: [(models: [String], allowed: Bool)] = [
        ([], true), ([g], true), ([g, v], true), ([q, v, e], true), ([g, q], false), ([v, sd], false),
        (["solo"], false), ([big], true), ([big, v], false),
    ]

    @Test(arguments: together)
    func canRunTogether(_ row: (models: [String], allowed: Bool)) throws {
        let matrix = try compiledMatrix(matrixExample, models: matrixExampleModels)
        #expect(matrix.canRunTogether(row.models) == row.allowed)
    }
}
