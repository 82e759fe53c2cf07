/// Decides how the fake answers one request. The server owns sockets and clocks; a responder owns the script.
///
/// Keeping this a protocol lets the connection executor be tested with hand-built plans, and lets the scenario
/// logic (rule matching, sequences, llama-server defaults) be tested without sockets.
public protocol Responder: Sendable {
    /// The response to `request`, which fully arrived `uptime` after the server started (health scripts depend
    /// on it). Called once per request, on the connection's event loop; implementations that keep state (sequence
    /// counters) must make that state safe to use from several event loops.
    func respond(to request: RequestContext, uptime: Duration) -> ResponderDecision
}

/// A responder's answer: the plan to play, and what the journal should say about where it came from.
public struct ResponderDecision: Sendable, Hashable {
    public var plan: ResponsePlan
    /// Name of the scenario that answered, if any.
    public var scenario: String?
    /// Label of the rule that answered (`name:`, or `rule #N at file:line`), or `default` / `unmatched`.
    public var rule: String?
    /// The time scale that was applied to the plan, recorded in the journal.
    public var timeScale: Double

    public init(plan: ResponsePlan, scenario: String? = nil, rule: String? = nil, timeScale: Double = 1) {
        self.plan = plan
        self.scenario = scenario
        self.rule = rule
        self.timeScale = timeScale
    }
}
