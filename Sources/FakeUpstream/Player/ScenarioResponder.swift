import NIOConcurrencyHelpers

/// The fake's `Responder`: scenarios and their rule books, answering each request with a plan.
///
/// With several scenarios loaded, a request picks one with its `X-Scenario` header (by `name`), else the first one
/// answers. Rule-book state (sequence positions) is shared by all connections, so it sits behind a lock; planning
/// itself is pure and happens outside it.
public final class ScenarioResponder: Responder {
    /// The loaded scenarios; the first answers requests that name none.
    public let scenarios: [Scenario]
    /// `--time-scale`: replaces every scenario's `timeScale` when given.
    public let timeScaleOverride: Double?
    private let books: NIOLockedValueBox<[RuleBook]>

    /// The header a client sends to choose a scenario by name.
    public static let scenarioHeader = "X-Scenario"

    /// A responder over `scenarios`, each starting with fresh sequences.
    public init(scenarios: [Scenario], timeScaleOverride: Double? = nil) {
        self.scenarios = scenarios
        self.timeScaleOverride = timeScaleOverride
        self.books = NIOLockedValueBox(scenarios.map(RuleBook.init(scenario:)))
    }

    /// Which scenario answers `request`: the one named by `X-Scenario`, else the first; nil when none is loaded.
    public func scenarioIndex(for request: RequestContext) -> Int? {
        guard !scenarios.isEmpty else { return nil }
        if let wanted = request.header(Self.scenarioHeader),
            let index = scenarios.firstIndex(where: { $0.name == wanted })
        {
            return index
        }
        return 0
    }

    /// The chosen scenario's rule, else its defaults, else its strict-mode 500; with no scenario, plain defaults.
    public func respond(to request: RequestContext, uptime: Duration) -> ResponderDecision {
        guard let index = scenarioIndex(for: request) else {
            let fallback = Scenario(name: "default", description: "llama-server defaults")
            let scale = timeScaleOverride ?? 1
            let plan = LlamaServerDefaults(scenario: fallback, timeScale: scale).plan(for: request, uptime: uptime)
            return ResponderDecision(plan: plan, scenario: nil, rule: "default", timeScale: scale)
        }
        let scenario = scenarios[index]
        let scale = timeScaleOverride ?? scenario.timeScale
        let selection = books.withLockedValue { $0[index].select(for: request) }
        switch selection {
        case .rule(_, let label, let script):
            let plan = ResponsePlanner(timeScale: scale, model: scenario.model, llamaServer: scenario.llamaServer)
                .plan(script, for: request)
            return ResponderDecision(plan: plan, scenario: scenario.name, rule: label, timeScale: scale)
        case .defaults:
            let plan = LlamaServerDefaults(scenario: scenario, timeScale: scale).plan(for: request, uptime: uptime)
            return ResponderDecision(plan: plan, scenario: scenario.name, rule: "default", timeScale: scale)
        case .unmatched(let error):
            let plan = LlamaServerDefaults.jsonPlan(status: 500, body: Array(error.json.utf8))
            return ResponderDecision(plan: plan, scenario: scenario.name, rule: "unmatched", timeScale: scale)
        }
    }
}
