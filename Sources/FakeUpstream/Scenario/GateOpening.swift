/// One entry of `openGates:`: the runner releases gate `name` this long after the client's first request, so a
/// gated scenario can run unattended (and a gate nobody opens is reported instead of hanging the replay).
public struct GateOpening: Sendable, Hashable {
    /// The gate's name, as in the `gate:` step.
    public var name: String
    /// When to open it, in scenario time, from the moment the client's first request was sent.
    public var after: Duration

    /// Opens `name` after `after`.
    public init(name: String, after: Duration) {
        self.name = name
        self.after = after
    }
}
