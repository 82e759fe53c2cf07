/// What the matrix says must happen before a request to `requested` can be served: which running models stay,
/// which are stopped first, and whether `requested` must be started.
///
/// The decision is about compatibility only. It does not know which model serves a request right now; the
/// supervisor applies our rule that a model serving a request is never stopped under it (as ``SwapPlanner``'s
/// `wait` does) before it stops anything in ``evict``.
public struct MatrixSwapDecision: Sendable, Hashable {
    /// The requested model id (aliases already resolved).
    public var requested: String
    /// The running models that stay, sorted by UTF-8 bytes (`requested` among them when it runs already).
    public var keep: [String]
    /// The running models to stop before `requested` starts, sorted by UTF-8 bytes.
    public var evict: [String]
    /// `requested` when it is not running and must be started; nil when it runs already.
    public var start: String?
    /// The set whose combination was chosen; nil when `requested` is in no set (it runs alone) or, when it runs
    /// already, no set holds all the running models together.
    public var set: String?
    /// The models the chosen combination allows together (sorted), for logs: it may name models that are not
    /// running (only `requested` is started; nothing is preloaded). `[requested]` when it runs alone; the running
    /// models when `requested` runs already.
    public var combination: [String]
    /// The summed eviction cost of ``evict``.
    public var cost: Int

    public init(
        requested: String,
        keep: [String],
        evict: [String],
        start: String?,
        set: String?,
        combination: [String],
        cost: Int
    ) {
        self.requested = requested
        self.keep = keep
        self.evict = evict
        self.start = start
        self.set = set
        self.combination = combination
        self.cost = cost
    }
}
