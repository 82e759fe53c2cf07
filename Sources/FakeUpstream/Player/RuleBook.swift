import Wire

/// Which response a scenario gives to each request, in order; the only state a scenario has at run time is how far
/// each `sequence:` has advanced.
///
/// The first rule whose match holds and that is not exhausted answers (a sequence advances once per request it
/// answers); else llama-server's default; else, in strict mode, a 500 naming the scenario. `/health` and the model
/// lists fall back to defaults even in strict mode.
public struct RuleBook: Sendable {
    /// The scenario whose rules are consulted.
    public let scenario: Scenario
    /// How many responses each rule has given.
    public private(set) var answered: [Int]

    /// A fresh book: every sequence at its first response.
    public init(scenario: Scenario) {
        self.scenario = scenario
        self.answered = Array(repeating: 0, count: scenario.rules.count)
    }

    /// What answers a request.
    public enum Selection: Sendable {
        /// Rule `index` answers with `script`; `label` names the rule for the journal.
        case rule(index: Int, label: String, script: ResponseScript)
        /// llama-server's default behaviour answers.
        case defaults
        /// Strict mode and no rule: answer 500 with this error.
        case unmatched(OpenAIError)
    }

    /// Chooses the answer to `request` and advances the chosen rule's sequence.
    public mutating func select(for request: RequestContext) -> Selection {
        for (index, rule) in scenario.rules.enumerated() where Self.matches(rule.match, request) {
            let used = answered[index]
            if rule.repeats {
                guard let script = rule.responses.first else { continue }
                answered[index] += 1
                return .rule(index: index, label: label(ofRule: index), script: script)
            }
            guard used < rule.responses.count else { continue }
            answered[index] += 1
            return .rule(index: index, label: label(ofRule: index), script: rule.responses[used])
        }
        if !scenario.strict || LlamaServerDefaults.answersInStrictMode(path: request.path) { return .defaults }
        return .unmatched(unmatchedError(for: request))
    }

    /// `name:`, or `rule #N at file:line` (N counts from 1), or `rule #N`.
    public func label(ofRule index: Int) -> String {
        let rule = scenario.rules[index]
        if let name = rule.name { return name }
        if let location = rule.location { return "rule #\(index + 1) at \(location.file):\(location.line)" }
        return "rule #\(index + 1)"
    }

    /// The strict-mode error: names the scenario (and its file) and what the request looked like, so a test author
    /// sees which rule is missing.
    public func unmatchedError(for request: RequestContext) -> OpenAIError {
        let file = scenario.file.map { " (\($0))" } ?? ""
        let model = request.model.map { "'\($0)'" } ?? "none"
        let message = "scenario '\(scenario.name)'\(file) has no response for \(request.method) \(request.path)"
            + " (model: \(model), stream: \(request.stream)); add a rule whose match covers it, or set strict: false"
        return OpenAIError(message: message, type: "harness_unmatched", code: 500)
    }

    /// Whether `request` satisfies every condition of `match`.
    public static func matches(_ match: RequestMatch, _ request: RequestContext) -> Bool {
        if let method = match.method, method.lowercased() != request.method.lowercased() { return false }
        if let path = match.path, path != request.path { return false }
        if let model = match.model, model != request.model { return false }
        if let stream = match.stream, stream != request.stream { return false }
        for wanted in match.headers {
            let name = wanted.name.lowercased()
            let present = request.headers.contains { $0.name.lowercased() == name && $0.value == wanted.value }
            if !present { return false }
        }
        return true
    }
}
