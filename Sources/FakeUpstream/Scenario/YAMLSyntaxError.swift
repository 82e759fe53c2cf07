import Wire
import Yams

/// Turns Yams' errors (libyaml's scanner, parser and composer, duplicate keys) into `LocatedError`s that point at
/// the same place and say what libyaml expected.
enum YAMLSyntaxError {
    static func located(_ error: any Error, yaml: String, file: String) -> LocatedError {
        func at(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: max(1, mark.line), column: max(1, mark.column))
        }
        func message(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at \(context.mark.line):\(context.mark.column))"
        }
        guard let yamlError = error as? YamlError else {
            return LocatedError("invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return LocatedError(message(problem, context), at: at(mark))
        case .reader(let problem, let offset, _, _):
            return LocatedError("invalid text: \(problem)", at: location(ofByte: offset ?? 0, in: yaml, file: file))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let first = context.mark
            let key = duplicates.first ?? ""
            if let second = repetition(of: key, after: first, in: yaml) {
                return LocatedError(
                    "duplicate key '\(key)'; it is already set at \(first.line):\(first.column)",
                    at: SourceLocation(file: file, line: second.line, column: second.column))
            }
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return LocatedError("duplicate key \(names) in one mapping; each key may appear once", at: at(first))
        default:
            return LocatedError("invalid YAML: \(yamlError)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    /// Where a block mapping repeats `key`: the next line, at the same column as the first, that starts with the key
    /// and a colon. Yams reports only the first occurrence; the second is the one to delete. `nil` when not found
    /// (flow mappings, quoted keys), and the error then points at the first.
    static func repetition(of key: String, after first: Mark, in yaml: String) -> (line: Int, column: Int)? {
        guard !key.isEmpty else { return nil }
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line < lines.count else { return nil }
        for index in first.line..<lines.count {
            let scalars = Array(lines[index].unicodeScalars)
            let start = first.column - 1
            guard start >= 0, scalars.count > start else { continue }
            if scalars[..<start].contains(where: { $0 != " " && $0 != "-" }) { continue }
            let rest = String(String.UnicodeScalarView(scalars[start...]))
            guard rest.hasPrefix(key) else { continue }
            if rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") {
                return (index + 1, first.column)
            }
        }
        return nil
    }

    /// 1-based line and column (in Unicode scalars, as libyaml counts) of a UTF-8 byte offset.
    static func location(ofByte offset: Int, in text: String, file: String) -> SourceLocation {
        var line = 1, column = 1, consumed = 0
        for scalar in text.unicodeScalars {
            if consumed >= offset { break }
            consumed += UTF8.width(scalar)
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}
