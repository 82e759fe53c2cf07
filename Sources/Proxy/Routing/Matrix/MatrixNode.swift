/// A set expression after compilation: identifiers resolved to model ids, `+name` linked to the set's index.
///
/// A reference stays a reference (not a copy of the other set's expression), so evaluation computes each set once
/// per query however often it is referenced.
indirect enum MatrixNode: Sendable, Hashable {
    /// This model runs.
    case model(String)
    /// The combinations of the set at this index of ``SwapMatrix``'s sets.
    case set(Int)
    /// One combination of each operand, together.
    case all([MatrixNode])
    /// The combinations of each operand, in order.
    case any([MatrixNode])
}
