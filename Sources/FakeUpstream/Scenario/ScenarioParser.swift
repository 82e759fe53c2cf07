import Foundation
import LocatedYAML

/// Turns a scenario file's YAML into a validated `Scenario`, or the first mistake as `file:line:column: message`.
///
/// The parser walks the composed YAML nodes rather than decoding, so header order survives, unknown keys are caught,
/// every scalar is read as the type its field expects, and every error points at the offending key or value.
/// The format is specified in `Scenarios/README.md`; `Keys` lists the accepted keys per section.
public enum ScenarioParser {
    /// Parses one scenario file's text. `file` is the path shown in errors; its stem becomes the scenario's name.
    public static func parse(yaml: String, file: String) throws(LocatedError) -> Scenario {
        let reader = YAMLReader(file: file, rules: rules)
        guard let root = try YAMLNode.compose(yaml: yaml, file: file) else {
            throw LocatedError(
                "the file is empty; expected a mapping with at least 'description'",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        return try reader.scenario(root, name: stem(of: file))
    }

    /// Scenarios are strict: only plain `true`/`false` are booleans, only plain scalars are numbers, and no
    /// duration is longer than `longestDuration`.
    static var rules: ScalarRules {
        var rules = ScalarRules.strict
        rules.longestDuration = longestDuration
        return rules
    }

    /// The longest duration a scenario may hold (about 11.6 days): even scaled by the largest `timeScale` it stays
    /// far inside `Duration`'s nanosecond range, so the player's arithmetic cannot trap. `hang` waits forever.
    static let longestDuration: Double = 1_000_000

    /// The largest `timeScale`: slowing a scenario down a thousandfold is plenty, and keeps scaled durations finite.
    static let largestTimeScale: Double = 1000

    /// `slow-prefill` for `Scenarios/slow-prefill.yaml`.
    static func stem(of file: String) -> String {
        let last = file.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? file
        for suffix in [".yaml", ".yml"] where last.hasSuffix(suffix) && last.count > suffix.count {
            return String(last.dropLast(suffix.count))
        }
        return last
    }
}

extension YAMLReader {
    func scenario(_ root: YAMLNode, name: String) throws(LocatedError) -> Scenario {
        let top = try fields(root, "the top level", allowed: ScenarioParser.Keys.top)
        guard let descriptionNode = top["description"] else {
            throw error(
                "missing key 'description': every scenario says in one line which real-world behaviour it models",
                at: root)
        }
        var scenario = Scenario(name: name, file: file, description: try oneLine(descriptionNode, "description"))
        if let node = top["timeScale"] {
            scenario.timeScale = try number(node, "timeScale", expected: "a number > 0 and <= 1000") {
                $0 > 0 && $0 <= ScenarioParser.largestTimeScale
            }
        }
        if let node = top["model"] { scenario.model = try oneLine(node, "model") }
        if let node = top["models"] {
            scenario.models = []
            for item in try list(node, "models", of: "model ids") {
                scenario.models.append(try oneLine(item, "models"))
            }
        }
        if let node = top["strict"] { scenario.strict = try bool(node, "strict") }
        if let node = top["llamaServer"] { scenario.llamaServer = try llamaServer(node) }
        if let node = top["health"] { scenario.health = try health(node) }
        if let node = top["responses"] {
            scenario.rules = []
            for item in try list(node, "responses", of: "rules (mappings with match and steps or sequence)") {
                scenario.rules.append(try rule(item))
            }
        }
        scenario.spec = try spec(top)
        return scenario
    }

    func health(_ node: YAMLNode) throws(LocatedError) -> HealthScript {
        let health = try fields(node, "health", allowed: ScenarioParser.Keys.health)
        guard let statesNode = health["states"] else {
            throw error(
                "health: missing key 'states' (a list such as [{status: 503, for: 60s}, {status: 200}])", at: node)
        }
        let items = try nonEmptyList(statesNode, "states", of: "health states")
        var states: [HealthState] = []
        for (index, item) in items.enumerated() {
            let entry = try fields(item, "health state", allowed: ScenarioParser.Keys.healthState)
            guard let statusNode = entry["status"] else {
                throw error("health state: missing key 'status'", at: item)
            }
            var state = HealthState(status: try status(statusNode, "status"))
            if let node = entry["for"] { state.duration = try duration(node, "for") }
            if let node = entry["body"] { state.body = try bytes(node, "body") }
            if state.duration == nil && index < items.count - 1 {
                throw error("health state: missing key 'for'; only the last state may hold forever", at: item)
            }
            states.append(state)
        }
        var script = HealthScript(states: states)
        if let node = health["repeat"] {
            script.repeats = try bool(node, "repeat")
            if script.repeats {
                for (item, state) in zip(items, states) where (state.duration ?? .zero) <= .zero {
                    throw error("health state: 'repeat: true' needs every state to have 'for' > 0", at: item)
                }
            }
        }
        return script
    }

    func status(_ node: YAMLNode, _ key: String) throws(LocatedError) -> Int {
        try integer(node, key, in: 100...999, expected: "an HTTP status from 100 to 999")
    }

    func rule(_ node: YAMLNode) throws(LocatedError) -> ResponseRule {
        let rule = try fields(node, "rule", allowed: ScenarioParser.Keys.rule)
        var name: String?
        if let node = rule["name"] { name = try oneLine(node, "name") }
        var match = RequestMatch()
        if let node = rule["match"] { match = try self.match(node) }
        let steps = rule.entry("steps"), sequence = rule.entry("sequence")
        if steps != nil, let sequence {
            let later = rule.entries.last { $0.key == "steps" || $0.key == "sequence" } ?? sequence
            throw error("rule: use either 'steps' (every request) or 'sequence' (one response per request), not both",
                at: later.keyNode)
        }
        if let steps {
            return ResponseRule(
                name: name, match: match, responses: [try script(steps.value, "steps")], repeats: true,
                location: location(of: node))
        }
        guard let sequence else {
            throw error("rule: missing key 'steps' (answers every request) or 'sequence' (one response per request)",
                at: node)
        }
        var responses: [ResponseScript] = []
        for item in try nonEmptyList(sequence.value, "sequence", of: "responses ({steps: […]})") {
            let entry = try fields(item, "sequence entry", allowed: ScenarioParser.Keys.sequenceEntry)
            guard let stepsNode = entry["steps"] else {
                throw error("sequence entry: missing key 'steps'", at: item)
            }
            responses.append(try script(stepsNode, "steps"))
        }
        return ResponseRule(
            name: name, match: match, responses: responses, repeats: false, location: location(of: node))
    }

    func match(_ node: YAMLNode) throws(LocatedError) -> RequestMatch {
        let match = try fields(node, "match", allowed: ScenarioParser.Keys.match)
        var result = RequestMatch()
        if let node = match["method"] {
            let method = try oneLine(node, "method")
            guard method.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-" || $0 == "_") }) else {
                throw mismatch("method", expected: "an HTTP method such as POST", got: node)
            }
            result.method = method
        }
        if let node = match["path"] {
            let path = try oneLine(node, "path")
            guard path.hasPrefix("/"), !path.contains("?") else {
                throw mismatch("path", expected: "a path starting with '/' and without a query string", got: node)
            }
            result.path = path
        }
        if let node = match["model"] { result.model = try oneLine(node, "model") }
        if let node = match["stream"] { result.stream = try bool(node, "stream") }
        if let node = match["headers"] { result.headers = try headers(node) }
        return result
    }

    /// A mapping of header names to values, order kept, values taken as written.
    func headers(_ node: YAMLNode) throws(LocatedError) -> [HeaderField] {
        guard let mapping = node.mapping else {
            throw mismatch("headers", expected: "a mapping of header names to values", got: node)
        }
        var result: [HeaderField] = []
        for entry in mapping {
            guard let key = entry.key.scalar?.text, !key.isEmpty,
                key.unicodeScalars.allSatisfy({ $0.isHeaderNameCharacter })
            else {
                throw mismatch("headers", expected: "a header name (letters, digits, - and no spaces or ':')",
                    got: entry.key)
            }
            let value = try oneLine(entry.value, key, allowEmpty: true)
            result.append(HeaderField(key, value))
        }
        return result
    }
}

extension Unicode.Scalar {
    /// RFC 9110 `tchar`: what a header name may contain.
    fileprivate var isHeaderNameCharacter: Bool {
        guard isASCII else { return false }
        if properties.isAlphabetic || ("0"..."9").contains(self) { return true }
        return "!#$%&'*+-.^_`|~".unicodeScalars.contains(self)
    }
}
