/// One token of a set expression, with the column (Unicode scalars, from 1) where it starts.
struct MatrixToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// A var key or model id: letters, digits, `_`, `-`, `.`.
        case identifier(String)
        /// `+name`.
        case reference(String)
        /// `&`
        case and
        /// `|`
        case or
        /// `(`
        case open
        /// `)`
        case close
        /// After the last character.
        case end
    }

    var kind: Kind
    var column: Int

    /// How an error message names the token.
    var quoted: String {
        switch kind {
        case .identifier(let name): return "'\(name)'"
        case .reference(let name): return "'+\(name)'"
        case .and: return "'&'"
        case .or: return "'|'"
        case .open: return "'('"
        case .close: return "')'"
        case .end: return "the end of the expression"
        }
    }
}
