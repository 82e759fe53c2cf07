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

/// `routing.router.settings.matrix` as written: `vars`, `evict_costs` and the ordered `sets`, each with the place it
/// is written, for ``SwapMatrix/compile(_:models:aliases:)`` and for errors that point at the file.
public struct MatrixSettings: Sendable, Hashable {
    /// One `vars` entry: a short name for a model id.
    public struct Variable: Sendable, Hashable {
        public var key: String
        public var model: String
        public var location: SourceLocation
    }

    /// One `evict_costs` entry: a var or model id and its positive multiplier.
    public struct EvictCost: Sendable, Hashable {
        public var key: String
        public var cost: Int
        public var location: SourceLocation
    }

    /// One named set: its expression (`(g | q) & v`, `+llms & v`) as written.
    public struct Set: Sendable, Hashable {
        public var name: String
        public var expression: String
        /// Where the set's name is written.
        public var location: SourceLocation
        /// Where the expression's scalar starts.
        public var expressionLocation: SourceLocation
        /// Whether the expression is written in quotes (its first character is one column further right).
        public var isQuoted: Bool
    }

    public var vars: [Variable]
    public var evictCosts: [EvictCost]
    /// In definition order, which breaks ties between sets of equal cost.
    public var sets: [Set]
    /// Where `matrix:` is written.
    public var location: SourceLocation

    public init(vars: [Variable] = [], evictCosts: [EvictCost] = [], sets: [Set] = [], location: SourceLocation) {
        self.vars = vars
        self.evictCosts = evictCosts
        self.sets = sets
        self.location = location
    }

    /// The plain definition the solver compiles.
    public var definition: MatrixDefinition {
        MatrixDefinition(
            vars: vars.map { MatrixDefinition.Variable(key: $0.key, model: $0.model) },
            evictCosts: evictCosts.map { MatrixDefinition.EvictCost(key: $0.key, multiplier: $0.cost) },
            sets: sets.map { MatrixDefinition.Set(name: $0.name, expression: $0.expression) })
    }
}
