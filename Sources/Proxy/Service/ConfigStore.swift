import NIOConcurrencyHelpers

/// The config in force, as one immutable ``ConfigSnapshot`` that the router and the supervisor both read.
///
/// A reload replaces the whole snapshot in one step (under one lock), so there is no moment where the router has
/// the new config and the supervisor the old one. Only ``Supervisor/reload(_:)`` replaces it, inside the actor turn
/// that also retires the processes of changed models.
public final class ConfigStore: Sendable {
    private let box: NIOLockedValueBox<ConfigSnapshot>

    public init(_ config: ProxyConfig) {
        box = NIOLockedValueBox(ConfigSnapshot(generation: 0, config: config))
    }

    /// The snapshot for requests that arrive now.
    public var current: ConfigSnapshot { box.withLockedValue { $0 } }

    /// Puts `config` in force as the next generation and returns its snapshot.
    @discardableResult
    func replace(with config: ProxyConfig) -> ConfigSnapshot {
        box.withLockedValue { snapshot in
            snapshot = ConfigSnapshot(generation: snapshot.generation + 1, config: config)
            return snapshot
        }
    }
}
