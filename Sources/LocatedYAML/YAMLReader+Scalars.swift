extension YAMLReader {
    /// A scalar's text after `rules.substitute`, for fields that are strings whatever they look like (`id: 1`,
    /// `model: 010`, `name: true`).
    public func string(_ node: YAMLNode, _ key: String) throws(LocatedError) -> String {
        guard let scalar = node.scalar else { throw mismatch(key, expected: "a string", got: node) }
        guard let substitute = rules.substitute else { return scalar.text }
        return try substitute(scalar.text, node, key)
    }

    /// `string(_:_:)` with the place it was written, for checks made after reading.
    public func locatedString(_ node: YAMLNode, _ key: String) throws(LocatedError) -> Located<String> {
        Located(value: try string(node, key), location: node.location)
    }

    /// A list of strings; a single string is a one-element list and null an empty one.
    public func strings(_ node: YAMLNode, _ key: String) throws(LocatedError) -> [Located<String>] {
        if node.isNull { return [] }
        if node.scalar != nil { return [try locatedString(node, key)] }
        var result: [Located<String>] = []
        for item in try list(node, key, of: "strings") {
            guard item.scalar != nil, !item.isNull else { throw mismatch(key, expected: "a string", got: item) }
            result.append(try locatedString(item, key))
        }
        return result
    }

    /// Text that must fit on one line (names, ids, header values) and, unless `allowEmpty`, not be empty.
    public func oneLine(_ node: YAMLNode, _ key: String, allowEmpty: Bool = false) throws(LocatedError) -> String {
        let text = try string(node, key)
        if !allowEmpty && text.isEmpty { throw mismatch(key, expected: "a non-empty string", got: node) }
        if text.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw mismatch(key, expected: "a single line", got: node)
        }
        return text
    }

    /// The text of a number or boolean: plain unless `rules.quotedValues`, substituted, trimmed and not empty.
    private func valueText(_ node: YAMLNode, _ key: String, expected: String) throws(LocatedError) -> String {
        guard let scalar = node.scalar, scalar.isPlain || rules.quotedValues else {
            throw mismatch(key, expected: expected, got: node)
        }
        let text = try string(node, key).trimmingWhitespace()
        guard !text.isEmpty else { throw mismatch(key, expected: expected, got: node) }
        return text
    }

    public func bool(_ node: YAMLNode, _ key: String) throws(LocatedError) -> Bool {
        guard let value = rules.booleans[try valueText(node, key, expected: "true or false")] else {
            throw mismatch(key, expected: "true or false", got: node)
        }
        return value
    }

    /// A decimal whole number in `range`; `expected` describes it in errors (by default from the range).
    public func integer(
        _ node: YAMLNode, _ key: String, in range: ClosedRange<Int>, expected: String? = nil
    ) throws(LocatedError) -> Int {
        let expected =
            expected
            ?? (range.upperBound == Int.max
                ? "a whole number >= \(range.lowerBound)"
                : "a whole number from \(range.lowerBound) to \(range.upperBound)")
        let text = try valueText(node, key, expected: expected)
        let digits = text.hasPrefix("+") || text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
            range.contains(value)
        else { throw mismatch(key, expected: expected, got: node) }
        return value
    }

    public func unsigned(_ node: YAMLNode, _ key: String) throws(LocatedError) -> UInt64 {
        let expected = "a whole number >= 0"
        let text = try valueText(node, key, expected: expected)
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(text) else {
            throw mismatch(key, expected: expected, got: node)
        }
        return value
    }

    /// A finite decimal number accepted by `accept`, described as `expected` in errors.
    public func number(
        _ node: YAMLNode, _ key: String, expected: String, accept: (Double) -> Bool
    ) throws(LocatedError) -> Double {
        let text = try valueText(node, key, expected: expected)
        guard text.allSatisfy({ "0123456789.eE+-".contains($0) }), let value = Double(text), value.isFinite,
            accept(value)
        else { throw mismatch(key, expected: expected, got: node) }
        return value
    }

    /// A duration per `DurationParser` (a number of seconds or text with units: `500ms`, `1m30s`), at most
    /// `rules.longestDuration`. Quoted text is accepted: a duration is never mistaken for another type.
    public func duration(_ node: YAMLNode, _ key: String) throws(LocatedError) -> Duration {
        guard node.scalar != nil else {
            throw mismatch(key, expected: DurationParser.Failure.notADuration.expected, got: node)
        }
        let text = try string(node, key)
        do {
            return try DurationParser.duration(text, atMost: rules.longestDuration)
        } catch {
            throw mismatch(key, expected: error.expected, got: node)
        }
    }

    /// One of a fixed set of words (`framing`, `style`, `end`, `lineEnding`).
    public func choice<T>(_ node: YAMLNode, _ key: String, _ options: KeyValuePairs<String, T>) throws(LocatedError)
        -> T
    {
        let names = options.map(\.key)
        let expected = names.count == 2 ? "\(names[0]) or \(names[1])" : "one of \(names.joined(separator: ", "))"
        guard let scalar = node.scalar, let match = options.first(where: { $0.key == scalar.text }) else {
            throw mismatch(key, expected: expected, got: node)
        }
        return match.value
    }

    /// A size in bytes: a whole number (`65536`) or one with a unit (`64KiB`, `256MiB`, `1GiB`; `KB`, `MB`, `GB`
    /// are powers of 1000, `B` is bytes). At least one byte, at most 1 TiB.
    public func byteSize(_ node: YAMLNode, _ key: String) throws(LocatedError) -> Int {
        let expected =
            "a size of at least 1 byte and at most 1 TiB, in bytes or with a unit (64KiB, 256MiB, 1GiB)"
        let value = try valueText(node, key, expected: expected)
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
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let number = Int(digits),
            number <= (1 << 40) / multiplier, number * multiplier >= 1
        else { throw mismatch(key, expected: expected, got: node) }
        return number * multiplier
    }
}

/// A value read from a file, with the place it was written, so later checks can still point at it.
public struct Located<Value> {
    public var value: Value
    public var location: SourceLocation

    public init(value: Value, location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Sendable where Value: Sendable {}
extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}
