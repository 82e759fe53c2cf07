/// A set expression that does not parse: what is wrong and at which column (Unicode scalars, from 1) of the
/// expression text.
public struct MatrixSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the parser found.
    public enum Problem: Sendable, Hashable {
        /// Nothing but whitespace.
        case empty
        /// A character that is no operator and cannot be part of an identifier (e.g. `:` or `/`: a model id with
        /// those needs a var).
        case unexpectedCharacter(Character)
        /// `+` not directly followed by a set name.
        case missingSetName
        /// An operand (identifier, `+set` or `(`) was expected; `found` names what came instead.
        case expectedOperand(found: String)
        /// A `(` (opened at `openedAt`) has no matching `)`; `found` names what came instead.
        case unclosedParenthesis(openedAt: Int, found: String)
        /// A complete expression is followed by more (e.g. `a b`, `a)`): `&` or `|` was expected.
        case expectedOperator(found: String)
    }

    public var problem: Problem
    /// Where the problem is, counted in Unicode scalars from 1.
    public var column: Int

    public init(_ problem: Problem, column: Int) {
        self.problem = problem
        self.column = column
    }

    /// `column N: problem`, e.g. `column 6: unexpected character ':' …`.
    public var description: String { "column \(column): \(problem)" }
}

extension MatrixSyntaxError.Problem: CustomStringConvertible {
    /// What is wrong, without the column (the error or the config layer says where).
    public var description: String {
        switch self {
        case .empty:
            return "the expression is empty"
        case .unexpectedCharacter(let character):
            return "unexpected character '\(character)' (a model id with such characters needs a var)"
        case .missingSetName:
            return "'+' must be followed by a set name"
        case .expectedOperand(let found):
            return "expected a model, '+set' or '(', found \(found)"
        case .unclosedParenthesis(let openedAt, let found):
            return "'(' at column \(openedAt) is not closed: expected ')', found \(found)"
        case .expectedOperator(let found):
            return "expected '&', '|' or the end, found \(found)"
        }
    }
}
