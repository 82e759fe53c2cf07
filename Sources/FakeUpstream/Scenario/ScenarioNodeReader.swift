import Foundation
import Wire
import Yams

/// Reads typed values out of composed YAML nodes, one file at a time, turning every mistake into a `LocatedError`.
///
/// Scalars are read from their text as written, per the type the field expects, so YAML 1.1 surprises (`yes` as a
/// boolean, `010` as octal, `1e3` as a number where a string was meant) never reach the model.
struct ScenarioNodeReader {
    let file: String

    /// Where `node` starts, 1-based (Yams marks already count from 1).
    func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: max(1, mark?.line ?? 1), column: max(1, mark?.column ?? 1))
    }

    func error(_ message: String, at node: Node) -> LocatedError {
        LocatedError(message, at: location(of: node))
    }

    /// A short, quoted rendering of what the user wrote, for "got …" in messages.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if scalar.string.isEmpty { return scalar.style == .plain ? "nothing" : "an empty string" }
            var text = scalar.string
                .replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\r", with: "\\r")
                .replacingOccurrences(of: "\t", with: "\\t")
            if text.count > 40 { text = String(text.prefix(37)) + "..." }
            let quoted = "'\(text)'"
            return scalar.style == .plain ? quoted : "the string \(quoted)"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    func mismatch(_ key: String, expected: String, got node: Node) -> LocatedError {
        error("\(key): expected \(expected), got \(describe(node))", at: node)
    }

    // MARK: Mappings and lists

    /// The entries of a mapping, with every key checked against `allowed`.
    func fields(_ node: Node, _ section: String, allowed: [String]) throws(LocatedError) -> Fields {
        guard case .mapping(let mapping) = node else {
            throw mismatch(section, expected: "a mapping with keys \(allowed.joined(separator: ", "))", got: node)
        }
        var entries: [Fields.Entry] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw error("\(section): expected a key name, got \(describe(keyNode))", at: keyNode)
            }
            let key = keyScalar.string
            guard allowed.contains(key) else {
                var message = "unknown key '\(key)' in \(section); expected one of: \(allowed.joined(separator: ", "))"
                if let suggestion = KeySuggestion.closest(to: key, in: allowed) {
                    message += "; did you mean '\(suggestion)'?"
                }
                throw error(message, at: keyNode)
            }
            entries.append(Fields.Entry(key: key, keyNode: keyNode, value: value))
        }
        return Fields(entries: entries)
    }

    func list(_ node: Node, _ key: String, of what: String) throws(LocatedError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw mismatch(key, expected: "a list of \(what)", got: node) }
        return Array(sequence)
    }

    func nonEmptyList(_ node: Node, _ key: String, of what: String) throws(LocatedError) -> [Node] {
        let items = try list(node, key, of: what)
        if items.isEmpty { throw error("\(key): expected at least one of \(what), got an empty list", at: node) }
        return items
    }

    // MARK: Scalars

    /// The scalar's text as written, for fields that are strings whatever they look like (`id: 1`, `model: 010`).
    func string(_ node: Node, _ key: String) throws(LocatedError) -> String {
        guard case .scalar(let scalar) = node else { throw mismatch(key, expected: "a string", got: node) }
        return scalar.string
    }

    /// Text that must fit on one line (names, ids, header values) and, unless `allowEmpty`, not be empty.
    func oneLine(_ node: Node, _ key: String, allowEmpty: Bool = false) throws(LocatedError) -> String {
        let text = try string(node, key)
        if !allowEmpty && text.isEmpty { throw mismatch(key, expected: "a non-empty string", got: node) }
        if text.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw mismatch(key, expected: "a single line", got: node)
        }
        return text
    }

    /// Plain (unquoted) scalar text, for numbers and booleans: `"200"` in quotes is a string, not a status.
    private func plainText(_ node: Node, _ key: String, expected: String) throws(LocatedError) -> String {
        guard case .scalar(let scalar) = node, scalar.style == .plain, !scalar.string.isEmpty else {
            throw mismatch(key, expected: expected, got: node)
        }
        return scalar.string
    }

    func bool(_ node: Node, _ key: String) throws(LocatedError) -> Bool {
        switch try plainText(node, key, expected: "true or false") {
        case "true": return true
        case "false": return false
        default: throw mismatch(key, expected: "true or false", got: node)
        }
    }

    /// A decimal whole number in `range`, described as `expected` in errors.
    func integer(_ node: Node, _ key: String, in range: ClosedRange<Int>, expected: String) throws(LocatedError)
        -> Int
    {
        let text = try plainText(node, key, expected: expected)
        let digits = text.hasPrefix("+") || text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
            range.contains(value)
        else { throw mismatch(key, expected: expected, got: node) }
        return value
    }

    func unsigned(_ node: Node, _ key: String) throws(LocatedError) -> UInt64 {
        let expected = "a whole number >= 0"
        let text = try plainText(node, key, expected: expected)
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(text) else {
            throw mismatch(key, expected: expected, got: node)
        }
        return value
    }

    /// A finite decimal number accepted by `accept`, described as `expected` in errors.
    func number(_ node: Node, _ key: String, expected: String, accept: (Double) -> Bool) throws(LocatedError)
        -> Double
    {
        let text = try plainText(node, key, expected: expected)
        guard text.allSatisfy({ "0123456789.eE+-".contains($0) }), let value = Double(text), value.isFinite,
            accept(value)
        else { throw mismatch(key, expected: expected, got: node) }
        return value
    }

    /// The longest duration a scenario may hold (about 11.6 days): even scaled by the largest `timeScale` it stays
    /// far inside `Duration`'s nanosecond range, so the player's arithmetic cannot trap. `hang` waits forever.
    static let longestDuration: Double = 1_000_000

    /// The largest `timeScale`: slowing a scenario down a thousandfold is plenty, and keeps scaled durations finite.
    static let largestTimeScale: Double = 1000

    /// A duration per `DurationParser`: a number of seconds or text with units (`500ms`, `1m30s`).
    func duration(_ node: Node, _ key: String) throws(LocatedError) -> Duration {
        let expected = "a duration such as 500ms, 10s or 2m"
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            throw mismatch(key, expected: expected, got: node)
        }
        if let bound = Self.upperBoundSeconds(scalar.string), bound > Self.longestDuration {
            throw mismatch(key, expected: "a duration of at most \(Int(Self.longestDuration)) s", got: node)
        }
        do {
            return try DurationParser.duration(scalar.string)
        } catch {
            throw self.error("\(key): \(error.description)", at: node)
        }
    }

    /// An upper bound of the seconds in a duration text (every number times the unit that follows it, unknown units
    /// counted as hours), so huge values are refused before `Duration` conversion could trap.
    static func upperBoundSeconds(_ text: String) -> Double? {
        var total = 0.0
        var rest = Substring(text)
        while let first = rest.first, first.isWhitespace { rest.removeFirst() }
        while let last = rest.last, last.isWhitespace { rest.removeLast() }
        if let plain = Double(rest) { return plain.isFinite ? abs(plain) : .infinity }
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isNumber || $0 == ".") } ?? rest.endIndex
            let unitEnd = rest[numberEnd...].firstIndex { $0.isNumber || $0 == "." } ?? rest.endIndex
            guard let value = Double(rest[rest.startIndex..<numberEnd]) else { return nil }
            let unit = rest[numberEnd..<unitEnd]
            let scale: Double = switch unit {
                case "ns": 1e-9
                case "us", "µs": 1e-6
                case "ms": 1e-3
                case "s": 1
                case "m": 60
                default: 3600
            }
            total += value * scale
            rest = rest[unitEnd...]
        }
        return total
    }

    /// One of a fixed set of words (`framing`, `style`, `end`, `lineEnding`).
    func choice<T>(_ node: Node, _ key: String, _ options: KeyValuePairs<String, T>) throws(LocatedError) -> T {
        let names = options.map(\.key)
        let expected = names.count == 2 ? "\(names[0]) or \(names[1])" : "one of \(names.joined(separator: ", "))"
        guard case .scalar(let scalar) = node, let match = options.first(where: { $0.key == scalar.string }) else {
            throw mismatch(key, expected: expected, got: node)
        }
        return match.value
    }
}

/// A mapping's checked entries, in the order written.
struct Fields {
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    var entries: [Entry]

    func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }

    subscript(_ key: String) -> Node? { entry(key)?.value }

    func has(_ key: String) -> Bool { entry(key) != nil }
}
