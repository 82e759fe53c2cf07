/// The admin endpoints' view of a ``Supervisor`` and its ``LogBuffer``.
public struct SupervisorAdmin: ProxyAdmin {
    public let supervisor: Supervisor

    public init(supervisor: Supervisor) {
        self.supervisor = supervisor
    }

    public func runningModels() async -> [RunningModelSummary] {
        await supervisor.running().map { RunningModelSummary(model: $0.id, state: $0.stateName, inFlight: $0.inFlight) }
    }

    public func unload(model: String?) async {
        _ = try? await supervisor.unload(model)
    }

    public func recentLogLines() -> [String] {
        supervisor.logs.snapshot()
    }

    public func followLogLines() -> AsyncStream<String> {
        supervisor.logs.subscribe()
    }
}
