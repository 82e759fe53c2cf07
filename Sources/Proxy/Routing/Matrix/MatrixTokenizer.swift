/// Splits a set expression into ``MatrixToken``s.
///
/// As llama-swap's lexer (`internal/matrix/dsl.go`): whitespace separates; `&`, `|`, `(`, `)` are operators; an
/// identifier is a run of letters, digits, `_`, `-` and `.`; `+` must be directly followed by such a run (a set
/// name). Anything else (`:`, `/`, `@`, …) is an error: a model id containing it can be used through a var.
enum MatrixTokenizer {
    static func tokenize(_ text: String) -> Result<[MatrixToken], MatrixSyntaxError> {
        let scalars = Array(text.unicodeScalars)
        var tokens: [MatrixToken] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            let column = index + 1
            if scalar.properties.isWhitespace {
                index += 1
                continue
            }
            switch scalar {
            case "&": tokens.append(MatrixToken(kind: .and, column: column))
            case "|": tokens.append(MatrixToken(kind: .or, column: column))
            case "(": tokens.append(MatrixToken(kind: .open, column: column))
            case ")": tokens.append(MatrixToken(kind: .close, column: column))
            case "+":
                let name = identifier(in: scalars, from: index + 1)
                guard !name.isEmpty else { return .failure(MatrixSyntaxError(.missingSetName, column: column)) }
                tokens.append(MatrixToken(kind: .reference(name), column: column))
                index += 1 + name.unicodeScalars.count
                continue
            default:
                guard isIdentifierScalar(scalar) else {
                    return .failure(MatrixSyntaxError(.unexpectedCharacter(Character(scalar)), column: column))
                }
                let name = identifier(in: scalars, from: index)
                tokens.append(MatrixToken(kind: .identifier(name), column: column))
                index += name.unicodeScalars.count
                continue
            }
            index += 1
        }
        tokens.append(MatrixToken(kind: .end, column: scalars.count + 1))
        return .success(tokens)
    }

    /// Letters and decimal digits of any script, `_`, `-` and `.` (Go's `unicode.IsLetter`/`IsDigit`).
    static func isIdentifierScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "_", "-", ".": return true
        default: break
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return false
        }
    }

    private static func identifier(in scalars: [Unicode.Scalar], from start: Int) -> String {
        var end = start
        while end < scalars.count, isIdentifierScalar(scalars[end]) { end += 1 }
        var name = String.UnicodeScalarView()
        name.append(contentsOf: scalars[start..<end])
        return String(name)
    }
}
