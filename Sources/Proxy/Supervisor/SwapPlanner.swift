/// Decides, for a request to model X, what must happen to the running models first — as llama-swap's groups decide,
/// except that a model serving a request is never stopped under it.
///
/// Pure: the supervisor passes what is running (state and in-flight requests) and performs the plan; when the plan
/// says `wait`, it plans again each time a request finishes or a model stops. The rules (llama-swap's
/// `ProxyManager.swapProcessGroup` and `ProcessGroup`):
/// - X's group has `swap: true`: the other running members of that group are stopped.
/// - X's group has `exclusive: true`: every running model of every other group is stopped, except groups with
///   `persistent: true`.
/// - Otherwise nothing is stopped; models run side by side.
/// llama-swap applies the exclusive rule on every request, even when X already runs (a model of a non-exclusive
/// group may have started since); so does this planner, but it never makes a request to a running X wait for that.
public struct SwapPlanner: Sendable {
    /// Where a model that has a process (or an external upstream in use) stands.
    public enum Phase: Sendable, Hashable {
        case starting
        case ready
        case stopping
    }

    /// One model that is not stopped.
    public struct RunningModel: Sendable, Hashable {
        /// The model id (never an alias).
        public var id: String
        /// Starting, ready or stopping.
        public var phase: Phase
        /// Requests being served or waiting for this model. A model with any is never stopped by a swap.
        public var inFlight: Int

        /// A running model; `inFlight` counts requests served or waiting.
        public init(id: String, phase: Phase, inFlight: Int = 0) {
            self.id = id
            self.phase = phase
            self.inFlight = inFlight
        }
    }

    /// What to do before the request for X can proceed.
    public enum Plan: Sendable, Hashable {
        /// X is ready or starting: serve (or join the load) now. `alsoStop` are idle models the group rules evict;
        /// stop them, but X does not wait for that.
        case alreadyRunning(alsoStop: [String])
        /// Stop these models (none serves a request; wait until they are stopped), then start X.
        case start(afterStopping: [String])
        /// X cannot start yet: `busy` must be gone first but serve requests (or are still stopping, X included).
        /// Stop `stopNow` (idle) meanwhile, and plan again when a request finishes or a model stops.
        case wait(busy: [String], stopNow: [String])
    }

    private let groups: [GroupConfig]
    private let groupIndexByModel: [String: Int]

    /// - Parameter groups: the config's groups (`ProxyConfig.groups`, which includes the default group).
    public init(groups: [GroupConfig]) {
        self.groups = groups
        var index: [String: Int] = [:]
        for (position, group) in groups.enumerated() {
            for member in group.members where index[member] == nil { index[member] = position }
        }
        self.groupIndexByModel = index
    }

    /// A planner for the config's groups.
    public init(config: ProxyConfig) {
        self.init(groups: config.groups)
    }

    /// The plan for a request to `requested` (a model id, aliases already resolved) given what is `running`.
    /// A model in no group is treated as in a group of its own with llama-swap's defaults (swap, exclusive).
    public func plan(for requested: String, running: [RunningModel]) -> Plan {
        let target = groupIndexByModel[requested]
        let targetGroup =
            target.map { groups[$0] }
            ?? GroupConfig(id: GroupConfig.defaultGroupID, members: [requested])

        var evict: [RunningModel] = []
        for model in running where model.id != requested {
            let group = groupIndexByModel[model.id]
            let sameGroup = group == target && target != nil
            if sameGroup {
                if targetGroup.swap { evict.append(model) }
            } else if targetGroup.exclusive {
                let persistent = group.map { groups[$0].persistent } ?? false
                if !persistent { evict.append(model) }
            }
        }
        evict.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }

        let idle = evict.filter { $0.inFlight == 0 && $0.phase != .stopping }.map(\.id)
        let self_ = running.first { $0.id == requested }
        if let self_, self_.phase != .stopping {
            return .alreadyRunning(alsoStop: idle)
        }

        var busy = evict.filter { $0.inFlight > 0 || $0.phase == .stopping }.map(\.id)
        if self_?.phase == .stopping { busy.insert(requested, at: 0) }
        if busy.isEmpty { return .start(afterStopping: idle) }
        return .wait(busy: busy, stopNow: idle)
    }
}
