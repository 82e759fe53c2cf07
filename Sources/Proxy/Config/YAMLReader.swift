import Wire
import Yams

/// A value read from the config, with the place it was written, so later checks can still point at it.
struct Located<Value> {
    var value: Value
    var location: SourceLocation
}

extension Located: Sendable where Value: Sendable {}

/// Reads typed values out of `Yams.Node`s, turning every mismatch into `file:line:column: expected …, got …`.
///
/// It reads YAML scalars by their text, not through Yams' YAML 1.1 resolver (which turns `yes` into `true` and
/// `010` into 8 everywhere): a string field gets exactly what was written, and only a field that wants a bool or a
/// number interprets the text. `${env.NAME}` references are replaced in every scalar first, as llama-swap does.
struct YAMLReader {
    var file: String
    var environment: [String: String]
    var warnings: [ConfigWarning] = []

    func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// How a node is described in "got …": short, and showing the value when it is a scalar.
    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(node) { return "nothing (null)" }
            let text = scalar.string.count > 60 ? String(scalar.string.prefix(57)) + "..." : scalar.string
            return scalar.style == .plain ? "'\(text)'" : "the string \(JSONText.quote(text))"
        }
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func fail(_ node: Node, expected: String) -> LocatedError {
        LocatedError("\(expected), got \(describe(node))", at: location(of: node))
    }

    mutating func warn(_ message: String, at node: Node, keyPath: String) {
        warnings.append(ConfigWarning(message, at: location(of: node), keyPath: keyPath))
    }

    /// - Parameter expectation: what to say was expected, when "a mapping" alone would not help the user.
    func mapping(_ node: Node, _ what: String, expecting expectation: String = "a mapping") throws(LocatedError)
        -> Node.Mapping
    {
        guard case .mapping(let mapping) = node else { throw fail(node, expected: "\(what): expected \(expectation)") }
        return mapping
    }

    func sequence(_ node: Node, _ what: String) throws(LocatedError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw fail(node, expected: "\(what): expected a list") }
        return Array(sequence)
    }

    /// A mapping key as text; keys must be scalars.
    func key(_ node: Node) throws(LocatedError) -> String {
        guard case .scalar(let scalar) = node else {
            throw fail(node, expected: "expected a plain key such as a name")
        }
        return scalar.string
    }

    /// The text of a scalar with `${env.NAME}` replaced.
    func text(_ node: Node, _ what: String) throws(LocatedError) -> String {
        guard case .scalar(let scalar) = node else {
            throw fail(node, expected: "\(what): expected a text value")
        }
        return try expandEnvironment(scalar.string, at: location(of: node), what: what)
    }

    /// A string field; numbers and bools are taken as written (`name: 7` is the name "7"). Null means absent.
    func string(_ node: Node, _ what: String) throws(LocatedError) -> Located<String>? {
        if isNull(node) { return nil }
        return Located(value: try text(node, what), location: location(of: node))
    }

    func bool(_ node: Node, _ what: String) throws(LocatedError) -> Bool? {
        if isNull(node) { return nil }
        let value = try text(node, what)
        switch value {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: throw fail(node, expected: "\(what): expected true or false")
        }
    }

    func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws(LocatedError) -> Int? {
        if isNull(node) { return nil }
        let value = try text(node, what)
        guard let number = Int(value.trimmingCharacters(in: " ")) else {
            throw fail(node, expected: "\(what): expected a whole number")
        }
        guard range.contains(number) else {
            let bounds =
                range.upperBound == Int.max
                ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            throw fail(node, expected: "\(what): expected a whole number \(bounds)")
        }
        return number
    }

    /// A duration: a number of seconds (`95`, `0.5`) or text with a unit (`500ms`, `10s`, `2m`).
    func duration(_ node: Node, _ what: String) throws(LocatedError) -> Duration? {
        if isNull(node) { return nil }
        let value = try text(node, what)
        guard Self.fitsInDuration(value) else {
            throw fail(node, expected: "\(what): expected a duration under 280 years")
        }
        do {
            return try DurationParser.duration(value)
        } catch {
            throw LocatedError(
                "\(what): expected a duration such as 500ms, 10s, 2m or a number of seconds (\(error)), got \(describe(node))",
                at: location(of: node)
            )
        }
    }

    /// Whether `text` is small enough for `Duration`'s nanoseconds: the parser would trap converting a larger value.
    static func fitsInDuration(_ text: String) -> Bool {
        let limit = 9e9  // seconds; 9e18 ns is just under Int64.max
        if let seconds = Double(text.trimmingCharacters(in: " ")) { return !(seconds > limit) }
        var total = 0.0
        var run = ""
        for character in text + " " {
            if character.isNumber || character == "." || character == "e" && !run.isEmpty && run.last!.isNumber {
                run.append(character)
            } else {
                if let value = Double(run) { total += value * 3600 }
                run = ""
            }
        }
        return !(total > limit)
    }

    /// A size in bytes: a whole number (`65536`) or one with a unit (`64KiB`, `256MiB`, `1GiB`; `KB`, `MB`, `GB`
    /// are powers of 1000, `B` is bytes). At least one byte, at most 1 TiB.
    func byteSize(_ node: Node, _ what: String) throws(LocatedError) -> Int? {
        if isNull(node) { return nil }
        let value = try text(node, what).trimmingCharacters(in: " ")
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("B", 1),
        ]
        var digits = Substring(value)
        var multiplier = 1
        if let (unit, factor) = units.first(where: { value.hasSuffix($0.0) }) {
            digits = digits.dropLast(unit.count)
            while digits.last == " " { digits.removeLast() }
            multiplier = factor
        }
        let expectation =
            "\(what): expected a size of at least 1 byte and at most 1 TiB, in bytes or with a unit (64KiB, 256MiB, 1GiB)"
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let number = Int(digits),
            number <= (1 << 40) / multiplier, number * multiplier >= 1
        else { throw fail(node, expected: expectation) }
        return number * multiplier
    }

    /// A list of strings; a single string is accepted as a one-element list.
    func strings(_ node: Node, _ what: String) throws(LocatedError) -> [Located<String>] {
        if isNull(node) { return [] }
        if case .scalar = node { return [Located(value: try text(node, what), location: location(of: node))] }
        var result: [Located<String>] = []
        for item in try sequence(node, what) {
            guard case .scalar = item, !isNull(item) else { throw fail(item, expected: "\(what): expected text") }
            result.append(Located(value: try text(item, what), location: location(of: item)))
        }
        return result
    }

    /// Replaces `${env.NAME}` with the variable's value; an unset variable is an error, as in llama-swap.
    func expandEnvironment(_ text: String, at location: SourceLocation, what: String) throws(LocatedError) -> String {
        guard text.contains("${env.") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${env.") {
            result += rest[..<start.lowerBound]
            let afterPrefix = rest[start.upperBound...]
            guard let close = afterPrefix.firstIndex(of: "}") else {
                result += rest[start.lowerBound...]
                rest = rest[rest.endIndex...]
                break
            }
            let name = String(afterPrefix[..<close])
            guard let value = environment[name] else {
                throw LocatedError(
                    "\(what): environment variable '\(name)' (used as ${env.\(name)}) is not set", at: location)
            }
            result += value
            rest = afterPrefix[afterPrefix.index(after: close)...]
        }
        return result + rest
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
