import Foundation

/// Reads typed values out of located YAML nodes, one file at a time, turning every mistake into a `LocatedError`
/// (`file:line:column: key: expected …, got …`). The proxy's config and the fake's scenarios both read through it.
///
/// Scalars are read from their text as written, per the type the field expects, so YAML 1.1 surprises (`yes` as a
/// boolean, `010` as octal, `1e3` as a number where a string was meant) never reach the model. How lenient the
/// typed getters are is set by `rules`: scenarios are strict, a llama-swap config accepts what llama-swap accepts.
public struct YAMLReader {
    /// The file the nodes come from, for errors that belong to no node.
    public var file: String
    public var rules: ScalarRules

    public init(file: String, rules: ScalarRules = .strict) {
        self.file = file
        self.rules = rules
    }

    /// Where `node` starts.
    public func location(of node: YAMLNode) -> SourceLocation { node.location }

    public func error(_ message: String, at node: YAMLNode) -> LocatedError {
        LocatedError(message, at: node.location)
    }

    /// A short, quoted rendering of what the user wrote, for "got …" in messages.
    public func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .scalar(let scalar):
            if scalar.text.isEmpty { return scalar.isPlain ? "nothing" : "an empty string" }
            var text = scalar.text
                .replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\r", with: "\\r")
                .replacingOccurrences(of: "\t", with: "\\t")
            if text.count > 40 { text = String(text.prefix(37)) + "..." }
            let quoted = "'\(text)'"
            return scalar.isPlain ? quoted : "the string \(quoted)"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// `key: expected …, got …` at `node`.
    public func mismatch(_ key: String, expected: String, got node: YAMLNode) -> LocatedError {
        error("\(key): expected \(expected), got \(describe(node))", at: node)
    }

    /// Whether `node` is YAML's null (nothing, `~`, `null`), which lenient files read as "not set".
    public func isNull(_ node: YAMLNode) -> Bool { node.isNull }

    // MARK: Mappings and lists

    /// The entries of a mapping whose keys are names the file chooses (model ids, header names, gate names).
    /// - Parameter expecting: what to say was expected when `node` is not a mapping.
    public func entries(_ node: YAMLNode, _ section: String, expecting: String = "a mapping") throws(LocatedError)
        -> [Fields.Entry]
    {
        guard let mapping = node.mapping else { throw mismatch(section, expected: expecting, got: node) }
        var entries: [Fields.Entry] = []
        for entry in mapping {
            guard let key = entry.key.scalar else {
                throw error("\(section): expected a key name, got \(describe(entry.key))", at: entry.key)
            }
            entries.append(Fields.Entry(key: key.text, keyNode: entry.key, value: entry.value))
        }
        return entries
    }

    /// The entries of a mapping with a fixed set of keys; an unknown key is an error that lists the allowed keys and
    /// suggests the closest ("did you mean 'status'?").
    public func fields(_ node: YAMLNode, _ section: String, allowed: [String]) throws(LocatedError) -> Fields {
        var unknown: [UnknownKey] = []
        let expecting = "a mapping with keys \(allowed.joined(separator: ", "))"
        return try fields(node, section, allowed: allowed, expecting: expecting, stopAtUnknown: true, &unknown)
    }

    /// The entries of a mapping with a fixed set of keys, where unknown keys are not errors: each is appended to
    /// `unknownKeys` (with its place and suggestion) and left out of the result, for the caller to warn about.
    public func fields(
        _ node: YAMLNode, _ section: String, allowed: [String], expecting: String = "a mapping",
        unknownKeys: inout [UnknownKey]
    ) throws(LocatedError) -> Fields {
        try fields(node, section, allowed: allowed, expecting: expecting, stopAtUnknown: false, &unknownKeys)
    }

    private func fields(
        _ node: YAMLNode, _ section: String, allowed: [String], expecting: String, stopAtUnknown: Bool,
        _ unknownKeys: inout [UnknownKey]
    ) throws(LocatedError) -> Fields {
        var known: [Fields.Entry] = []
        for entry in try entries(node, section, expecting: expecting) {
            guard allowed.contains(entry.key) else {
                let unknown = UnknownKey(
                    key: entry.key, section: section, location: entry.keyNode.location, allowed: allowed)
                if stopAtUnknown { throw LocatedError(unknown.description, at: unknown.location) }
                unknownKeys.append(unknown)
                continue
            }
            known.append(entry)
        }
        return Fields(entries: known)
    }

    public func list(_ node: YAMLNode, _ key: String, of what: String) throws(LocatedError) -> [YAMLNode] {
        guard let items = node.sequence else { throw mismatch(key, expected: "a list of \(what)", got: node) }
        return items
    }

    public func nonEmptyList(_ node: YAMLNode, _ key: String, of what: String) throws(LocatedError) -> [YAMLNode] {
        let items = try list(node, key, of: what)
        if items.isEmpty { throw error("\(key): expected at least one of \(what), got an empty list", at: node) }
        return items
    }

    /// A mapping's checked entries, in the order written.
    public struct Fields: Sendable {
        public struct Entry: Sendable {
            public var key: String
            public var keyNode: YAMLNode
            public var value: YAMLNode
        }

        public var entries: [Entry]

        public func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }

        public subscript(_ key: String) -> YAMLNode? { entry(key)?.value }

        public func has(_ key: String) -> Bool { entry(key) != nil }
    }
}

/// How lenient `YAMLReader`'s typed getters are, and what they do to scalar text first.
public struct ScalarRules {
    /// The words read as booleans.
    public var booleans: [String: Bool]
    /// Whether numbers and booleans may be quoted (`"8080"`); when not, a quoted scalar is only ever a string.
    public var quotedValues: Bool
    /// The longest duration accepted, in seconds.
    public var longestDuration: Double
    /// Applied to a scalar's text before any typed getter reads it (the config's `${env.NAME}`); it receives the
    /// text, the node and the key being read, for its errors.
    public var substitute: ((_ text: String, _ node: YAMLNode, _ key: String) throws(LocatedError) -> String)?

    public init(
        booleans: [String: Bool], quotedValues: Bool, longestDuration: Double = DurationParser.maximumSeconds,
        substitute: ((_ text: String, _ node: YAMLNode, _ key: String) throws(LocatedError) -> String)? = nil
    ) {
        self.booleans = booleans
        self.quotedValues = quotedValues
        self.longestDuration = longestDuration
        self.substitute = substitute
    }

    /// Only plain `true`/`false` are booleans and only plain scalars are numbers.
    public static var strict: ScalarRules { ScalarRules(booleans: ["true": true, "false": false], quotedValues: false) }

    /// YAML 1.1's booleans (`yes`, `on`, `False`, …) and quoted numbers are accepted, as Go YAML readers do.
    public static var yaml11: ScalarRules {
        var booleans: [String: Bool] = [:]
        for word in ["true", "yes", "on"] { for form in [word, word.capitalized, word.uppercased()] { booleans[form] = true } }
        for word in ["false", "no", "off"] { for form in [word, word.capitalized, word.uppercased()] { booleans[form] = false } }
        return ScalarRules(booleans: booleans, quotedValues: true)
    }
}

/// A key that is not allowed where it is written, with the allowed key it most likely meant.
public struct UnknownKey: Sendable, Hashable, CustomStringConvertible {
    public var key: String
    /// The section as named in messages (`step`, `the top level`).
    public var section: String
    public var location: SourceLocation
    public var allowed: [String]
    /// The allowed key closest to `key`, when it is close enough to be a plausible typo.
    public var suggestion: String?

    public init(key: String, section: String, location: SourceLocation, allowed: [String]) {
        self.key = key
        self.section = section
        self.location = location
        self.allowed = allowed
        self.suggestion = KeySuggestion.closest(to: key, in: allowed)
    }

    /// `; did you mean 'status'?`, or nothing when no allowed key is close.
    public var didYouMean: String { suggestion.map { "; did you mean '\($0)'?" } ?? "" }

    /// `unknown key 'stauts' in step; expected one of: wait, status, …; did you mean 'status'?`
    public var description: String {
        "unknown key '\(key)' in \(section); expected one of: \(allowed.joined(separator: ", "))\(didYouMean)"
    }
}
