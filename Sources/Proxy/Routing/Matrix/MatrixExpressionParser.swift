/// Parses a set expression into a ``MatrixExpression``: a small recursive descent over ``MatrixToken``s.
///
/// Grammar (llama-swap's, `internal/matrix/dsl.go`), `&` binding tighter than `|`:
/// ```
/// expression := conjunction ( "|" conjunction )*
/// conjunction := operand ( "&" operand )*
/// operand := identifier | "+" set-name | "(" expression ")"
/// ```
/// So `a | b & c` is `a | (b & c)`. Chains stay flat (`a & b & c` is one ``MatrixExpression/all(_:)`` of three), and
/// parentheses leave no node of their own. The first error ends parsing; it names its column.
public enum MatrixExpressionParser {
    /// The expression `text` parses to, or the first syntax error in it.
    public static func parse(_ text: String) -> Result<MatrixExpression, MatrixSyntaxError> {
        let tokens: [MatrixToken]
        switch MatrixTokenizer.tokenize(text) {
        case .success(let value): tokens = value
        case .failure(let error): return .failure(error)
        }
        if tokens.count == 1 { return .failure(MatrixSyntaxError(.empty, column: 1)) }
        var parser = Parser(tokens: tokens)
        do throws(MatrixSyntaxError) {
            let expression = try parser.expression()
            let next = parser.peek
            guard next.kind == .end else {
                throw MatrixSyntaxError(.expectedOperator(found: next.quoted), column: next.column)
            }
            return .success(expression)
        } catch {
            return .failure(error)
        }
    }

    private struct Parser {
        let tokens: [MatrixToken]
        var position = 0

        var peek: MatrixToken { tokens[position] }

        mutating func advance() -> MatrixToken {
            let token = tokens[position]
            if token.kind != .end { position += 1 }
            return token
        }

        mutating func expression() throws(MatrixSyntaxError) -> MatrixExpression {
            var operands = [try conjunction()]
            while peek.kind == .or {
                _ = advance()
                operands.append(try conjunction())
            }
            return operands.count == 1 ? operands[0] : .any(operands)
        }

        mutating func conjunction() throws(MatrixSyntaxError) -> MatrixExpression {
            var operands = [try operand()]
            while peek.kind == .and {
                _ = advance()
                operands.append(try operand())
            }
            return operands.count == 1 ? operands[0] : .all(operands)
        }

        mutating func operand() throws(MatrixSyntaxError) -> MatrixExpression {
            let token = advance()
            switch token.kind {
            case .identifier(let name):
                return .identifier(name, column: token.column)
            case .reference(let name):
                return .reference(name, column: token.column)
            case .open:
                let inner = try expression()
                let closing = advance()
                guard closing.kind == .close else {
                    throw MatrixSyntaxError(
                        .unclosedParenthesis(openedAt: token.column, found: closing.quoted), column: closing.column)
                }
                return inner
            case .and, .or, .close, .end:
                throw MatrixSyntaxError(.expectedOperand(found: token.quoted), column: token.column)
            }
        }
    }
}
