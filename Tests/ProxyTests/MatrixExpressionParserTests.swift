import Testing

@testable import Proxy

/// The expression as a string with every `&`/`|` node in parentheses, so precedence and flattening show.
private func render(_ expression: MatrixExpression) -> String {
    switch expression {
    case .identifier(let name, _): return name
    case .reference(let name, _): return "+" + name
    case .all(let operands): return "(" + operands.map(render).joined(separator: " & ") + ")"
    case .any(let operands): return "(" + operands.map(render).joined(separator: " | ") + ")"
    }
}

/// Every identifier and reference with its column, in order.
private func leaves(_ expression: MatrixExpression) -> [String] {
    switch expression {
    case .identifier(let name, let column): return ["\(name)@\(column)"]
    case .reference(let name, let column): return ["+\(name)@\(column)"]
    case .all(let operands), .any(let operands): return operands.flatMap(leaves)
    }
}

struct MatrixParseCase: CustomTestStringConvertible, Sendable {
    var text: String
    var tree: String
    var testDescription: String { "'\(text)' → \(tree)" }
}

struct MatrixLeafCase: CustomTestStringConvertible, Sendable {
    var text: String
    var leaves: [String]
    var testDescription: String { "'\(text)'" }
}

struct MatrixSyntaxCase: CustomTestStringConvertible, Sendable {
    var text: String
    var problem: MatrixSyntaxError.Problem
    var column: Int
    var testDescription: String { "'\(text)' fails at column \(column)" }
}

@Suite struct MatrixExpressionParserTests {
    static let trees: [MatrixParseCase] = [
        MatrixParseCase(text: "a", tree: "a"),
        MatrixParseCase(text: "+base", tree: "+base"),
        MatrixParseCase(text: "a & b", tree: "(a & b)"),
        MatrixParseCase(text: "a | b | c", tree: "(a | b | c)"),
        MatrixParseCase(text: "a & b & c", tree: "(a & b & c)"),
        // & binds tighter than |, on either side.
        MatrixParseCase(text: "a | b & c", tree: "(a | (b & c))"),
        MatrixParseCase(text: "a & b | c", tree: "((a & b) | c)"),
        MatrixParseCase(text: "a & b | c & d", tree: "((a & b) | (c & d))"),
        MatrixParseCase(text: "(a | b) & c", tree: "((a | b) & c)"),
        MatrixParseCase(text: "(a | b) & (c | d)", tree: "((a | b) & (c | d))"),
        MatrixParseCase(text: "a & (b | c) & d", tree: "(a & (b | c) & d)"),
        // Parentheses leave no node of their own.
        MatrixParseCase(text: "((a))", tree: "a"),
        MatrixParseCase(text: "((a & b))", tree: "(a & b)"),
        MatrixParseCase(text: "(a | +base) & b", tree: "((a | +base) & b)"),
        MatrixParseCase(text: "+llms & v", tree: "(+llms & v)"),
        // Whitespace is optional and may be any (tabs, newlines from a folded YAML scalar).
        MatrixParseCase(text: "(g|q)&v", tree: "((g | q) & v)"),
        MatrixParseCase(text: "\t g \n|\n q ", tree: "(g | q)"),
        // Identifier characters: letters and digits of any script, '_', '-', '.'.
        MatrixParseCase(text: "model-name.v2_x & Qwen3-30B", tree: "(model-name.v2_x & Qwen3-30B)"),
        MatrixParseCase(text: "modèle | 模型", tree: "(modèle | 模型)"),
        MatrixParseCase(text: "+with_tts.v2", tree: "+with_tts.v2"),
    ]

    @Test(arguments: trees)
    func parsesWithPrecedence(_ row: MatrixParseCase) throws {
        let expression = try MatrixExpressionParser.parse(row.text).get()
        #expect(render(expression) == row.tree)
    }

    static let columns: [MatrixLeafCase] = [
        MatrixLeafCase(text: "a", leaves: ["a@1"]),
        MatrixLeafCase(text: "  a &  +b", leaves: ["a@3", "+b@8"]),
        MatrixLeafCase(text: "(gemma | qwen) & v", leaves: ["gemma@2", "qwen@10", "v@18"]),
        // Columns count Unicode scalars, as YAML columns do: 'é' is one, however many bytes.
        MatrixLeafCase(text: "é & b", leaves: ["é@1", "b@5"]),
        MatrixLeafCase(text: "模型 & b", leaves: ["模型@1", "b@6"]),
    ]

    @Test(arguments: columns)
    func identifiersKnowTheirColumns(_ row: MatrixLeafCase) throws {
        let expression = try MatrixExpressionParser.parse(row.text).get()
        #expect(leaves(expression) == row.leaves)
    }

    static let errors: [MatrixSyntaxCase] = [
        MatrixSyntaxCase(text: "", problem: .empty, column: 1),
        MatrixSyntaxCase(text: "   ", problem: .empty, column: 1),
        MatrixSyntaxCase(text: "a @ b", problem: .unexpectedCharacter("@"), column: 3),
        // A model id with ':' or '/' cannot be written directly: it needs a var.
        MatrixSyntaxCase(text: "qwen3:32b", problem: .unexpectedCharacter(":"), column: 6),
        MatrixSyntaxCase(text: "a & org/model", problem: .unexpectedCharacter("/"), column: 8),
        MatrixSyntaxCase(text: "+", problem: .missingSetName, column: 1),
        MatrixSyntaxCase(text: "a & + b", problem: .missingSetName, column: 5),
        MatrixSyntaxCase(text: "+(a)", problem: .missingSetName, column: 1),
        MatrixSyntaxCase(
            text: "(a", problem: .unclosedParenthesis(openedAt: 1, found: "the end of the expression"), column: 3),
        MatrixSyntaxCase(
            text: "a & ((b | c) & d", problem: .unclosedParenthesis(openedAt: 5, found: "the end of the expression"),
            column: 17),
        MatrixSyntaxCase(text: "(a b)", problem: .unclosedParenthesis(openedAt: 1, found: "'b'"), column: 4),
        MatrixSyntaxCase(text: "a)", problem: .expectedOperator(found: "')'"), column: 2),
        MatrixSyntaxCase(text: "a b", problem: .expectedOperator(found: "'b'"), column: 3),
        MatrixSyntaxCase(text: "a +b", problem: .expectedOperator(found: "'+b'"), column: 3),
        MatrixSyntaxCase(text: "()", problem: .expectedOperand(found: "')'"), column: 2),
        MatrixSyntaxCase(text: "a &", problem: .expectedOperand(found: "the end of the expression"), column: 4),
        MatrixSyntaxCase(text: "| a", problem: .expectedOperand(found: "'|'"), column: 1),
        MatrixSyntaxCase(text: "a & & b", problem: .expectedOperand(found: "'&'"), column: 5),
        MatrixSyntaxCase(text: "a | | b", problem: .expectedOperand(found: "'|'"), column: 5),
        MatrixSyntaxCase(text: "a & (b |)", problem: .expectedOperand(found: "')'"), column: 9),
        MatrixSyntaxCase(text: "é @", problem: .unexpectedCharacter("@"), column: 3),
    ]

    @Test(arguments: errors)
    func syntaxErrorsNameTheirColumn(_ row: MatrixSyntaxCase) {
        switch MatrixExpressionParser.parse(row.text) {
        case .success(let expression):
            Issue.record("parsed as \(render(expression))")
        case .failure(let error):
            #expect(error == MatrixSyntaxError(row.problem, column: row.column))
        }
    }

    @Test func syntaxErrorMessagesReadWell() {
        let messages = ["(a", "qwen3:32b", "a b", "+"].map { text -> String in
            guard case .failure(let error) = MatrixExpressionParser.parse(text) else { return "parsed" }
            return error.description
        }
        #expect(
            messages == [
                "column 3: '(' at column 1 is not closed: expected ')', found the end of the expression",
                "column 6: unexpected character ':' (a model id with such characters needs a var)",
                "column 3: expected '&', '|' or the end, found 'b'",
                "column 1: '+' must be followed by a set name",
            ])
    }
}
