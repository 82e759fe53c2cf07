import NIOConcurrencyHelpers

/// llama-swap's `selectors`: a virtual model id that each request resolves to one of its targets. A pure function of
/// the selector and of where its targets stand; the router asks it once per request, after profile pins and before
/// aliases, filters and routing (llama-swap `internal/server/selector.go` at 31fef1e1, `config.example.yaml`).
///
/// Rules:
/// - `pin`: always the first target (the others are reference data).
/// - `warm`: the first target in order that is ready; else the first that is starting; else the first (a cold start).
/// - `spillover` with `settings.spillover` = N (default 1): targets are *active* (ready or starting, or serving
///   requests) or *cold* (stopped); stopping targets are skipped. No active target: the first cold one. Otherwise,
///   while the least busy active target serves fewer than N requests, the least busy active one (the first of them
///   in target order); once every active target serves N or more, the first cold target starts; with none left, the
///   least busy active one again.
/// - A target that is not a local model (a peer model) has no state here: it counts as stopped, serving nothing.
///
/// Differences from llama-swap: a target's load is the supervisor's count of its requests (served or waiting for
/// it), whoever sent them, where llama-swap counts the selector's own requests; ties go to the first target in order
/// where llama-swap rotates among them.
public enum SelectorChoice {
    /// What the supervisor shows of one model.
    public struct TargetState: Sendable, Hashable {
        public var phase: SwapPlanner.Phase?
        public var inFlight: Int

        public init(phase: SwapPlanner.Phase?, inFlight: Int = 0) {
            self.phase = phase
            self.inFlight = inFlight
        }

        public static let stopped = TargetState(phase: nil)
    }

    /// The target (as written in the selector) a request for `selector` goes to. `state` gives a target's model
    /// state (aliases resolved by the caller); `nil` only when the selector has no usable target.
    public static func choose(_ selector: SelectorSettings, state: (String) -> TargetState) -> String? {
        guard let first = selector.targets.first else { return nil }
        switch selector.strategy {
        case .pin:
            return first
        case .warm:
            return selector.targets.first { state($0).phase == .ready }
                ?? selector.targets.first { state($0).phase == .starting } ?? first
        case .spillover:
            var active: [(target: String, load: Int)] = []
            var cold: [String] = []
            for target in selector.targets {
                let current = state(target)
                switch current.phase {
                case .stopping: continue
                case .ready, .starting: active.append((target, current.inFlight))
                case nil: if current.inFlight > 0 { active.append((target, current.inFlight)) } else { cold.append(target) }
                }
            }
            guard let least = active.min(by: { $0.load < $1.load }) else { return cold.first }
            if least.load < selector.spillover { return least.target }
            return cold.first ?? least.target
        }
    }
}

/// Where each model stands, as the supervisor last left it: read without waiting by the router (selectors,
/// `upstream.ignorePaths`).
///
/// It reads the supervisor's ``LeaseTable`` under its lock, so a count is current the moment a lease is taken or
/// released (fast leases never pass through the actor), and nothing is rebuilt or published per change.
public final class ModelStateBoard: Sendable {
    private let table: LeaseTable

    /// A board over a table of its own (nothing runs: every model stopped).
    public convenience init() { self.init(table: LeaseTable()) }

    init(table: LeaseTable) { self.table = table }

    /// Every model that has a state (not stopped, or with requests).
    public var current: [String: SelectorChoice.TargetState] { table.states() }

    /// One model's phase (`nil`: stopped): what the router asks per request, without copying every model's state.
    public func phase(of model: String) -> SwapPlanner.Phase? { table.phase(of: model) }
}
