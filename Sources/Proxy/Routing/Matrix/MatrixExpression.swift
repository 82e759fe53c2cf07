/// A parsed set expression, before its identifiers are resolved: what ``MatrixExpressionParser`` returns.
///
/// Columns count Unicode scalars from 1 within the expression text, so an error can point at the identifier; the
/// config layer adds the column where the YAML scalar starts.
public indirect enum MatrixExpression: Sendable, Hashable {
    /// A var key or a model id: that model runs.
    case identifier(String, column: Int)
    /// `+name`: the combinations of the set `name`, as if its expression were written here in parentheses.
    case reference(String, column: Int)
    /// `a & b & …`: one combination of each operand, run together (their union).
    case all([MatrixExpression])
    /// `a | b | …`: the combinations of each operand, in order (alternatives).
    case any([MatrixExpression])
}
