import Testing

@testable import Proxy

struct MatrixCompileErrorCase: CustomTestStringConvertible, Sendable {
    var name: String
    var definition: MatrixDefinition
    var errors: [MatrixConfigError]
    var testDescription: String { name }
}

private typealias E = MatrixConfigError

private let models = ["gemma", "qwen", "voxtral", "a", "b", "c", "x"]
private let aliases = ["gpt-4o-mini": "gemma"]

@Suite struct MatrixCompileErrorTests {
    static let cases: [MatrixCompileErrorCase] = [
        MatrixCompileErrorCase(
            name: "no sets", definition: matrixDefinition(vars: [("g", "gemma")], sets: []),
            errors: [E(.noSets, at: .sets)]),
        MatrixCompileErrorCase(
            name: "empty expression", definition: matrixDefinition(sets: [("s", "")]),
            errors: [E(.syntax(.empty), at: .set("s", column: 1))]),
        MatrixCompileErrorCase(
            name: "blank expression", definition: matrixDefinition(sets: [("s", "  ")]),
            errors: [E(.syntax(.empty), at: .set("s", column: 1))]),
        MatrixCompileErrorCase(
            name: "syntax error names its set and column",
            definition: matrixDefinition(sets: [("fine", "a"), ("broken", "(a | b")]),
            errors: [
                E(
                    .syntax(.unclosedParenthesis(openedAt: 1, found: "the end of the expression")),
                    at: .set("broken", column: 7))
            ]),
        MatrixCompileErrorCase(
            name: "model id with ':' written directly", definition: matrixDefinition(sets: [("s", "a & qwen3:32b")]),
            errors: [E(.syntax(.unexpectedCharacter(":")), at: .set("s", column: 10))]),
        MatrixCompileErrorCase(
            name: "unknown identifier",
            definition: matrixDefinition(vars: [("g", "gemma")], sets: [("s", "g & nonexistent")]),
            errors: [E(.unknownIdentifier("nonexistent", isSetName: false), at: .set("s", column: 5))]),
        MatrixCompileErrorCase(
            name: "every unknown identifier of a set, by column",
            definition: matrixDefinition(sets: [("s", "(y | a) & zz & y")]),
            errors: [
                E(.unknownIdentifier("y", isSetName: false), at: .set("s", column: 2)),
                E(.unknownIdentifier("zz", isSetName: false), at: .set("s", column: 11)),
                E(.unknownIdentifier("y", isSetName: false), at: .set("s", column: 16)),
            ]),
        MatrixCompileErrorCase(
            name: "a set name without '+'", definition: matrixDefinition(sets: [("base", "a"), ("s", "base & b")]),
            errors: [E(.unknownIdentifier("base", isSetName: true), at: .set("s", column: 1))]),
        MatrixCompileErrorCase(
            name: "an alias is no model id",
            definition: matrixDefinition(sets: [("s", "gpt-4o-mini")]),
            errors: [E(.unknownIdentifier("gpt-4o-mini", isSetName: false), at: .set("s", column: 1))]),
        MatrixCompileErrorCase(
            name: "undefined set", definition: matrixDefinition(sets: [("s", "a | +nonexistent")]),
            errors: [E(.undefinedSet("nonexistent", isIdentifier: false), at: .set("s", column: 5))]),
        MatrixCompileErrorCase(
            name: "'+' before a var", definition: matrixDefinition(vars: [("g", "gemma")], sets: [("s", "+g")]),
            errors: [E(.undefinedSet("g", isIdentifier: true), at: .set("s", column: 1))]),
        MatrixCompileErrorCase(
            name: "two sets referencing each other",
            definition: matrixDefinition(sets: [("a", "+b"), ("b", "+a")]),
            errors: [E(.cycle(["b", "a", "b"]), at: .set("b", column: 1))]),
        MatrixCompileErrorCase(
            name: "a set referencing itself", definition: matrixDefinition(sets: [("s", "x | +s")]),
            errors: [E(.cycle(["s", "s"]), at: .set("s", column: 5))]),
        MatrixCompileErrorCase(
            name: "a longer circle, reported once",
            definition: matrixDefinition(sets: [("p", "+q & a"), ("q", "+r | b"), ("r", "c & +p"), ("free", "+q")]),
            errors: [E(.cycle(["r", "p", "q", "r"]), at: .set("r", column: 5))]),
        MatrixCompileErrorCase(
            name: "a set defined twice", definition: matrixDefinition(sets: [("s", "a"), ("s", "b")]),
            errors: [E(.duplicateSet, at: .set("s", column: nil))]),
        MatrixCompileErrorCase(
            name: "var key with '_'", definition: matrixDefinition(vars: [("a_b", "gemma")], sets: [("s", "a_b")]),
            errors: [E(.invalidVarKey, at: .variable("a_b"))]),
        MatrixCompileErrorCase(
            name: "empty var key", definition: matrixDefinition(vars: [("", "gemma")], sets: [("s", "gemma")]),
            errors: [E(.invalidVarKey, at: .variable(""))]),
        MatrixCompileErrorCase(
            name: "var key of 33 characters",
            definition: matrixDefinition(vars: [(String(repeating: "k", count: 33), "gemma")], sets: [("s", "gemma")]),
            errors: [E(.invalidVarKey, at: .variable(String(repeating: "k", count: 33)))]),
        MatrixCompileErrorCase(
            name: "var key with a non-ASCII letter",
            definition: matrixDefinition(vars: [("é", "gemma")], sets: [("s", "é")]),
            errors: [E(.invalidVarKey, at: .variable("é"))]),
        MatrixCompileErrorCase(
            name: "var naming an unknown model",
            definition: matrixDefinition(vars: [("n", "nonexistent")], sets: [("s", "n")]),
            errors: [E(.unknownModel("nonexistent", aliasOf: nil), at: .variable("n"))]),
        MatrixCompileErrorCase(
            name: "var naming an alias", definition: matrixDefinition(vars: [("m", "gpt-4o-mini")], sets: [("s", "m")]),
            errors: [E(.unknownModel("gpt-4o-mini", aliasOf: "gemma"), at: .variable("m"))]),
        MatrixCompileErrorCase(
            name: "evict cost 0", definition: matrixDefinition(costs: [("gemma", 0)], sets: [("s", "gemma")]),
            errors: [E(.nonPositiveCost(0), at: .evictCost("gemma"))]),
        MatrixCompileErrorCase(
            name: "negative evict cost",
            definition: matrixDefinition(vars: [("g", "gemma")], costs: [("g", -1)], sets: [("s", "g")]),
            errors: [E(.nonPositiveCost(-1), at: .evictCost("g"))]),
        MatrixCompileErrorCase(
            name: "evict cost for an unknown key",
            definition: matrixDefinition(vars: [("g", "gemma")], costs: [("unknown", 5)], sets: [("s", "g")]),
            errors: [E(.unknownCostKey, at: .evictCost("unknown"))]),
        MatrixCompileErrorCase(
            name: "all errors, in order: vars, evict costs, then sets as written",
            definition: matrixDefinition(
                vars: [("ok", "gemma"), ("bad_key", "qwen"), ("lost", "nowhere")],
                costs: [("ok", 0), ("who", 3)],
                sets: [("first", "ok & ghost"), ("second", "+first & (a"), ("third", "+third")]),
            errors: [
                E(.invalidVarKey, at: .variable("bad_key")),
                E(.unknownModel("nowhere", aliasOf: nil), at: .variable("lost")),
                E(.nonPositiveCost(0), at: .evictCost("ok")),
                E(.unknownCostKey, at: .evictCost("who")),
                E(.unknownIdentifier("ghost", isSetName: false), at: .set("first", column: 6)),
                E(
                    .syntax(.unclosedParenthesis(openedAt: 10, found: "the end of the expression")),
                    at: .set("second", column: 12)),
                E(.cycle(["third", "third"]), at: .set("third", column: 1)),
            ]),
    ]

    @Test(arguments: cases)
    func reportsEveryError(_ row: MatrixCompileErrorCase) {
        switch SwapMatrix.compile(row.definition, models: Set(models), aliases: aliases) {
        case .success:
            Issue.record("compiled; expected \(row.errors)")
        case .failure(let failure):
            #expect(failure.errors == row.errors)
        }
    }

    static let valid: [MatrixCompileErrorCase] = [
        MatrixCompileErrorCase(
            name: "32-character var key",
            definition: matrixDefinition(
                vars: [("abcdefghijklmnopqrstuvwxyzABCDEF", "gemma")], sets: [("s", "abcdefghijklmnopqrstuvwxyzABCDEF")]
            ),
            errors: []),
        MatrixCompileErrorCase(
            name: "var keys with '-' and '.'",
            definition: matrixDefinition(
                vars: [("model-var", "gemma"), ("model.var", "qwen")], sets: [("s", "model-var | model.var")]),
            errors: []),
        MatrixCompileErrorCase(
            name: "model ids without vars, evict cost by model id",
            definition: matrixDefinition(costs: [("gemma", 5)], sets: [("s", "gemma & voxtral")]), errors: []),
        MatrixCompileErrorCase(
            name: "a var key that is also a model id",
            definition: matrixDefinition(vars: [("qwen", "gemma")], sets: [("s", "qwen")]),
            errors: []),
        MatrixCompileErrorCase(
            name: "a diamond of references is no circle",
            definition: matrixDefinition(sets: [
                ("top", "+l & +r"), ("l", "+base | a"), ("r", "+base | b"), ("base", "c"),
            ]),
            errors: []),
    ]

    @Test(arguments: valid)
    func compiles(_ row: MatrixCompileErrorCase) {
        let result = SwapMatrix.compile(row.definition, models: Set(models), aliases: aliases)
        if case .failure(let failure) = result { Issue.record("\(failure)") }
    }

    @Test func evictCostsResolveVarsToModels() throws {
        let matrix = try compiledMatrix(
            matrixDefinition(
                vars: [("g", "gemma"), ("v", "voxtral")], costs: [("v", 50), ("qwen", 7)], sets: [("s", "g & v")]),
            models: models)
        #expect(matrix.multiplier(for: "voxtral") == 50)
        #expect(matrix.multiplier(for: "qwen") == 7)
        #expect(matrix.multiplier(for: "gemma") == 1)
        #expect(matrix.multiplier(for: "v") == 1)  // costs are kept by model id, not by var key
    }

    @Test func messagesNameTheSetAndTheProblem() {
        let failure = SwapMatrix.compile(
            matrixDefinition(
                vars: [("m", "gpt-4o-mini")], costs: [("x", 0)],
                sets: [("standard", "(g | q) & v"), ("loop", "+loop"), ("s", "+m"), ("t", "standard")]),
            models: Set(models), aliases: aliases)
        guard case .failure(let errors) = failure else {
            Issue.record("compiled")
            return
        }
        #expect(
            errors.errors.map(\.description) == [
                "var 'm': references 'gpt-4o-mini', an alias of 'gemma': vars name model ids, not aliases",
                "evict_costs 'x': the multiplier must be a positive integer, got 0",
                "set 'standard', column 2: unknown var or model 'g'",
                "set 'standard', column 6: unknown var or model 'q'",
                "set 'standard', column 11: unknown var or model 'v'",
                "set 'loop', column 1: circular reference: 'loop' → 'loop'",
                "set 's', column 1: references undefined set 'm' ('m' is a var or model: write it without '+')",
                "set 't', column 1: unknown var or model 'standard' (to use the set 'standard', write '+standard')",
            ])
        #expect(
            SwapMatrix.compile(matrixDefinition(sets: []), models: []).failureDescription
                == "matrix sets: the matrix must define at least one set")
        #expect(
            SwapMatrix.compile(matrixDefinition(sets: [("s", "a b")]), models: ["a", "b"]).failureDescription
                == "set 's', column 3: expected '&', '|' or the end, found 'b'")
    }
}

extension Result where Failure == MatrixConfigErrors {
    fileprivate var failureDescription: String? {
        if case .failure(let errors) = self { return errors.description }
        return nil
    }
}
