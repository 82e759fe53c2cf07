import LocatedYAML

/// One entry of `runs:`: the same upstream script replayed again with other settings and its own expectations,
/// e.g. a stall inside an event with heartbeats on, to prove that none lands inside the event.
///
/// Sections left `nil` are inherited from the top level (see `ScenarioSpec.allRuns`); `expect` never is.
public struct SpecRun: Sendable, Hashable {
    /// The run's name, shown after the file's (`split-event-stall/heartbeat`); unique in the file.
    public var name: String
    /// Proxy settings over the top-level ones, key by key.
    public var proxy: ProxySettingsSpec?
    /// The request; `nil` inherits the top-level one.
    public var request: ClientRequestSpec?
    /// The client profile; `nil` inherits the top-level one.
    public var profile: ProfileChoice?
    /// Gates to open; `nil` inherits the top-level list.
    public var openGates: [GateOpening]?
    /// What this run must show (required in the file).
    public var expect: Expectations?
    /// Where the run is written, for reports.
    public var location: SourceLocation?

    /// A run named `name`.
    public init(
        name: String, proxy: ProxySettingsSpec? = nil, request: ClientRequestSpec? = nil,
        profile: ProfileChoice? = nil, openGates: [GateOpening]? = nil, expect: Expectations? = nil,
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.proxy = proxy
        self.request = request
        self.profile = profile
        self.openGates = openGates
        self.expect = expect
        self.location = location
    }
}
