/// One loaded config with the number of its load: the unit a SIGHUP reload swaps.
///
/// A request reads one snapshot when it arrives and keeps it: the router's decisions (route, API keys, heartbeat
/// and timeouts) and the supervisor's (which model, its limit, `useModelName`) come from the same snapshot, so a
/// reload can never show one request half of the old config and half of the new.
///
/// A class, immutable: every request takes the current snapshot and hands it on (router, lease, relay), and a copy
/// of a struct holding a whole ``ProxyConfig`` retains and releases each of its dozens of references, where a class
/// costs one retain.
public final class ConfigSnapshot: Sendable {
    /// 0 for the config the proxy started with, +1 per reload.
    public let generation: Int
    public let config: ProxyConfig

    public init(generation: Int, config: ProxyConfig) {
        self.generation = generation
        self.config = config
    }
}
