import LocatedYAML

/// llama-swap's `routing:` section: which swap engine decides what runs together, and how queued requests are
/// ordered. Top-level `groups:` (and llama-swap's legacy top-level `matrix:`) load into the same value.
public struct RoutingSettings: Sendable, Hashable {
    /// `routing.router.use`.
    public enum Engine: String, Sendable, Hashable {
        /// `groups` decide swaps (llama-swap's default engine).
        case group
        /// `settings.matrix` decides swaps: the cheapest allowed set that contains the requested model.
        case matrix
    }

    /// The engine the config asks for.
    public var engine: Engine
    /// The matrix, when `engine` is `.matrix` (parsed and compiled; see ``MatrixSettings``).
    public var matrix: MatrixSettings?
    /// `routing.scheduler.settings.fifo.priority`: model id → priority (default 0; higher is served first).
    public var priority: [String: Int]

    public init(engine: Engine = .group, matrix: MatrixSettings? = nil, priority: [String: Int] = [:]) {
        self.engine = engine
        self.matrix = matrix
        self.priority = priority
    }
}

/// `routing.router.settings.matrix` as written: the solver's own ``MatrixDefinition`` (the one model of `vars`,
/// `evict_costs` and the ordered `sets`) and where each entry is written, so errors from
/// ``SwapMatrix/compile(_:models:aliases:)`` (which name a set, var or key) can point at the file.
public struct MatrixSettings: Sendable, Hashable {
    /// Where one set is written.
    public struct SetPlace: Sendable, Hashable {
        /// Where the set's name is written.
        public var location: SourceLocation
        /// Where the expression's scalar starts.
        public var expressionLocation: SourceLocation
        /// Whether the expression is written in quotes (its first character is one column further right).
        public var isQuoted: Bool

        public init(location: SourceLocation, expressionLocation: SourceLocation, isQuoted: Bool) {
            self.location = location
            self.expressionLocation = expressionLocation
            self.isQuoted = isQuoted
        }
    }

    /// What the matrix says; in definition order, which breaks ties between sets of equal cost.
    public var definition: MatrixDefinition
    /// Where `matrix:` is written.
    public var location: SourceLocation
    /// Var key → where it is written.
    public var varLocations: [String: SourceLocation]
    /// `evict_costs` key → where it is written.
    public var evictCostLocations: [String: SourceLocation]
    /// Set name → where it and its expression are written.
    public var setPlaces: [String: SetPlace]

    public init(
        definition: MatrixDefinition = MatrixDefinition(sets: []), location: SourceLocation,
        varLocations: [String: SourceLocation] = [:], evictCostLocations: [String: SourceLocation] = [:],
        setPlaces: [String: SetPlace] = [:]
    ) {
        self.definition = definition
        self.location = location
        self.varLocations = varLocations
        self.evictCostLocations = evictCostLocations
        self.setPlaces = setPlaces
    }
}
