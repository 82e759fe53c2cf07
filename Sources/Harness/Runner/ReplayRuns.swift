import FakeUpstream

/// The runs one scenario file asks for: its top-level spec, then each entry of `runs:`, each as a scenario of its
/// own whose `spec` is that run's (inherited sections filled in, no further `runs`).
public enum ReplayRuns {
    /// One run to replay.
    public struct Run: Sendable {
        /// `nil` for the top-level run; the entry's name for the others.
        public var name: String?
        /// The scenario with that run's spec.
        public var scenario: Scenario
        /// `slow-prefill` or `split-event-stall/heartbeat`.
        public var label: String { name.map { scenario.name + "/" + $0 } ?? scenario.name }
    }

    /// Every run of `scenario`, in file order; a file without a spec has one run, which checks nothing.
    public static func expand(_ scenario: Scenario) -> [Run] {
        guard let spec = scenario.spec else { return [Run(name: nil, scenario: scenario)] }
        return spec.allRuns.map { run in
            var copy = scenario
            copy.spec = run.spec
            return Run(name: run.name, scenario: copy)
        }
    }
}
