import Yams

extension YAMLNode {
    /// Composes one YAML document into located nodes; `nil` when the text holds no document (empty or only
    /// comments). `file` is the name every location carries.
    ///
    /// Syntax errors (libyaml's scanner, parser and composer, duplicate keys, invalid text) are `LocatedError`s that
    /// point at the same place and say what libyaml expected. A leading byte-order mark is dropped: it is not
    /// content, and editors do not count it as a column either.
    public static func compose(yaml: String, file: String) throws(LocatedError) -> YAMLNode? {
        let yaml = yaml.hasPrefix("\u{FEFF}") ? String(yaml.dropFirst()) : yaml
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw syntaxError(error, yaml: yaml, file: file)
        }
        return root.map { YAMLNode($0, file: file) }
    }

    /// Copies a Yams node and everything below it.
    init(_ node: Node, file: String) {
        let mark = node.mark
        let location = SourceLocation(file: file, line: max(1, mark?.line ?? 1), column: max(1, mark?.column ?? 1))
        switch node {
        case .scalar(let scalar):
            self.init(content: .scalar(Scalar(text: scalar.string, isPlain: scalar.style == .plain)), location: location)
        case .mapping(let mapping):
            let entries = mapping.map { Entry(key: YAMLNode($0.key, file: file), value: YAMLNode($0.value, file: file)) }
            self.init(content: .mapping(entries), location: location)
        case .sequence(let sequence):
            self.init(content: .sequence(sequence.map { YAMLNode($0, file: file) }), location: location)
        case .alias:
            self.init(content: .alias, location: location)
        }
    }

    /// A Yams error as a `LocatedError` that keeps the Yams error as its cause.
    static func syntaxError(_ error: any Error, yaml: String, file: String) -> LocatedError {
        func at(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: max(1, mark.line), column: max(1, mark.column))
        }
        func message(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at \(context.mark.line):\(context.mark.column))"
        }
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard let yamlError = error as? YamlError else {
            return LocatedError("invalid YAML: \(error)", at: start, underlying: error)
        }
        let cause = yamlError
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return LocatedError(message(problem, context), at: at(mark), underlying: cause)
        case .reader(let problem, let offset, _, _):
            return LocatedError(
                "invalid text: \(problem)", at: location(ofByte: offset ?? 0, in: yaml, file: file),
                underlying: cause)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let first = context.mark
            let key = duplicates.first ?? ""
            if let second = repetition(of: key, after: first, in: yaml) {
                return LocatedError(
                    "duplicate key '\(key)'; it is already set at \(first.line):\(first.column)",
                    at: SourceLocation(file: file, line: second.line, column: second.column), underlying: cause)
            }
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return LocatedError(
                "duplicate key \(names) in one mapping; each key may appear once", at: at(first), underlying: cause)
        default:
            return LocatedError("invalid YAML: \(yamlError)", at: start, underlying: cause)
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

