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
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return LocatedError("duplicate key \(names) in one mapping; each key may appear once", at: at(context.mark))
        default:
            return LocatedError("invalid YAML: \(yamlError)", at: SourceLocation(file: file, line: 1, column: 1))
        }
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
