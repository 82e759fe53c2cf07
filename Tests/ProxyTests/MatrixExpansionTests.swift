import Testing

@testable import Proxy

struct MatrixExpansionCase: CustomTestStringConvertible, Sendable {
    var name: String
    var vars: [Pair] = []
    var sets: [Pair]
    /// The set to expand; the last one by default.
    var expand: String?
    var combinations: [[String]]
    var testDescription: String { name }

    struct Pair: Sendable {
        var key: String
        var value: String
        init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }
}

private typealias P = MatrixExpansionCase.Pair

/// The models of every row: single letters, llama-swap's example names, and ids that need a var.
private let models = ["a", "b", "c", "d", "t", "e", "g", "m", "q", "v", "gemma", "voxtral", "qwen3:32b"]

@Suite struct MatrixExpansionTests {
    static let cases: [MatrixExpansionCase] = [
        MatrixExpansionCase(name: "one model", sets: [P("s", "a")], combinations: [["a"]]),
        MatrixExpansionCase(name: "& runs together", sets: [P("s", "a & b")], combinations: [["a", "b"]]),
        MatrixExpansionCase(
            name: "| lists alternatives in order", sets: [P("s", "c | a | b")], combinations: [["c"], ["a"], ["b"]]),
        MatrixExpansionCase(
            name: "product, left choice slowest", sets: [P("s", "(a | b) & (c | d)")],
            combinations: [["a", "c"], ["a", "d"], ["b", "c"], ["b", "d"]]),
        MatrixExpansionCase(name: "& before |", sets: [P("s", "a | b & c")], combinations: [["a"], ["b", "c"]]),
        MatrixExpansionCase(
            name: "& before | (left)", sets: [P("s", "a & b | c")], combinations: [["a", "b"], ["c"]]),
        MatrixExpansionCase(
            name: "parentheses override", sets: [P("s", "(a | b) & c")], combinations: [["a", "c"], ["b", "c"]]),
        MatrixExpansionCase(
            name: "choice in the middle", sets: [P("s", "a & (b | c) & d")],
            combinations: [["a", "b", "d"], ["a", "c", "d"]]),
        MatrixExpansionCase(name: "a model twice is once", sets: [P("s", "a & a")], combinations: [["a"]]),
        MatrixExpansionCase(name: "an alternative twice is once", sets: [P("s", "a | a")], combinations: [["a"]]),
        MatrixExpansionCase(
            name: "repeated combinations are listed once, first place kept", sets: [P("s", "(a | b) & (a | b)")],
            combinations: [["a"], ["a", "b"], ["b"]]),
        MatrixExpansionCase(
            name: "a smaller combination is still listed (subsets are allowed anyway)", sets: [P("s", "a | a & b")],
            combinations: [["a"], ["a", "b"]]),
        MatrixExpansionCase(name: "nested parentheses", sets: [P("s", "((a))")], combinations: [["a"]]),
        MatrixExpansionCase(
            name: "+ref inlines a set (llama-swap's references example)",
            sets: [P("llms", "g | q | m"), P("with_tts", "+llms & v"), P("mega", "+with_tts & e")],
            combinations: [["e", "g", "v"], ["e", "q", "v"], ["e", "m", "v"]]),
        MatrixExpansionCase(
            name: "+ref as an alternative", sets: [P("base", "a & b"), P("s", "+base | c")],
            combinations: [["a", "b"], ["c"]]),
        MatrixExpansionCase(
            name: "+ref twice", sets: [P("pool", "t | a | b"), P("pair", "+pool & +pool")],
            combinations: [["t"], ["a", "t"], ["b", "t"], ["a"], ["a", "b"], ["b"]]),
        MatrixExpansionCase(
            name: "+ref to a set defined later", sets: [P("s", "+later & a"), P("later", "b | c")], expand: "s",
            combinations: [["a", "b"], ["a", "c"]]),
        MatrixExpansionCase(
            name: "+ref is grouped as if in parentheses", sets: [P("alt", "a | b"), P("s", "+alt & c")],
            combinations: [["a", "c"], ["b", "c"]]),
        MatrixExpansionCase(
            name: "vars resolve to model ids", vars: [P("G", "gemma"), P("V", "voxtral")],
            sets: [P("s", "(G | q) & V")],
            combinations: [["gemma", "voxtral"], ["q", "voxtral"]]),
        MatrixExpansionCase(
            name: "a var wins over a model id of the same name", vars: [P("q", "gemma")], sets: [P("s", "q")],
            combinations: [["gemma"]]),
        MatrixExpansionCase(
            name: "var and model id naming one model are one", vars: [P("G", "gemma")], sets: [P("s", "G & gemma")],
            combinations: [["gemma"]]),
        MatrixExpansionCase(
            name: "a model id with ':' through a var", vars: [P("qw", "qwen3:32b")], sets: [P("s", "a & qw")],
            combinations: [["a", "qwen3:32b"]]),
    ]

    @Test(arguments: cases)
    func expandsInOrder(_ row: MatrixExpansionCase) throws {
        let definition = MatrixDefinition(
            vars: row.vars.map { MatrixDefinition.Variable(key: $0.key, model: $0.value) },
            sets: row.sets.map { MatrixDefinition.Set(name: $0.key, expression: $0.value) })
        let matrix = try compiledMatrix(definition, models: models)
        let name = row.expand ?? row.sets.last!.key
        #expect(matrix.combinations(ofSet: name) == row.combinations)
    }

    @Test func exampleSetsExpandAsItsCommentsSay() throws {
        let matrix = try compiledMatrix(matrixExample, models: matrixExampleModels)
        #expect(
            matrix.combinations(ofSet: "standard") == [
                ["gemma-model", "voxtral-model"], ["qwen-model", "voxtral-model"], ["mistral-model", "voxtral-model"],
            ])
        #expect(
            matrix.combinations(ofSet: "with_rerank") == [
                ["gemma-model", "reranker-model", "voxtral-model"], ["qwen-model", "reranker-model", "voxtral-model"],
            ])
        #expect(
            matrix.combinations(ofSet: "creative") == [
                ["gemma-model", "stable-diffusion"], ["qwen-model", "stable-diffusion"],
            ])
        #expect(matrix.combinations(ofSet: "full") == [["llama-70B"]])
        #expect(matrix.combinations(ofSet: "nope") == nil)
        #expect(matrix.models(inSet: "creative") == ["gemma-model", "qwen-model", "stable-diffusion"])
        #expect(matrix.setNames == ["standard", "with_rerank", "creative", "full"])
        #expect(matrix.expression(ofSet: "creative") == "(g | q) & sd")
        #expect(matrix.expression(ofSet: "nope") == nil)
        #expect(matrix.isInSomeSet("solo") == false)
        #expect(matrix.isInSomeSet("reranker-model"))
    }

    /// Six groups of ten: 10⁶ combinations. The listing gives up past its limit; nothing else needs the listing.
    @Test func listingStopsAtItsLimit() throws {
        let (definition, names) = matrixProduct(groups: 6, choices: 10)
        let matrix = try compiledMatrix(definition, models: names)
        #expect(matrix.combinations(ofSet: "large", limit: 1_000) == nil)
        let (smallDefinition, smallNames) = matrixProduct(groups: 2, choices: 3)
        let small = try compiledMatrix(smallDefinition, models: smallNames)
        #expect(small.combinations(ofSet: "large")?.count == 9)
    }

    @Test func rankOrderPutsReferencedSetsFirst() throws {
        let matrix = try compiledMatrix(
            matrixDefinition(sets: [("top", "+mid & a"), ("other", "b"), ("mid", "+low | c"), ("low", "d")]),
            models: models)
        #expect(matrix.setNames == ["top", "other", "mid", "low"])
        #expect(matrix.rankedSetNames == ["low", "mid", "top", "other"])
    }
}

/// `target & (m-0-0 | … | m-0-9) & … ` with `groups` groups of `choices` models (llama-swap's product fixture).
func matrixProduct(groups: Int, choices: Int) -> (MatrixDefinition, [String]) {
    var names = ["target"]
    var parts: [String] = []
    for group in 0..<groups {
        let alternatives = (0..<choices).map { "m-\(group)-\($0)" }
        names += alternatives
        parts.append("(" + alternatives.joined(separator: " | ") + ")")
    }
    return (matrixDefinition(sets: [("large", "target & " + parts.joined(separator: " & "))]), names + ["outside"])
}
