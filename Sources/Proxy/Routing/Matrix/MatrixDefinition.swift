/// What `routing.router.settings.matrix` says, as written: `vars`, `evict_costs` and the ordered `sets`.
///
/// The config layer fills it in file order (order matters: it breaks ties between sets and orders the errors) and
/// keeps each entry's location; ``SwapMatrix/compile(_:models:aliases:)`` reports errors by set name or key, so the
/// config layer can put `file:line:column` in front.
public struct MatrixDefinition: Sendable, Hashable {
    /// One `vars` entry: a short identifier for a model id, to keep set expressions short.
    public struct Variable: Sendable, Hashable {
        /// The identifier used in expressions: ASCII letters, digits, `-` and `.`, 1 to 32 characters.
        public var key: String
        /// A model id (not an alias).
        public var model: String

        public init(key: String, model: String) {
            self.key = key
            self.model = model
        }
    }

    /// One `evict_costs` entry: how much more it costs to lose `key` than its load time alone says.
    public struct EvictCost: Sendable, Hashable {
        /// A var key or a model id.
        public var key: String
        /// A positive integer; models not listed have 1.
        public var multiplier: Int

        public init(key: String, multiplier: Int) {
            self.key = key
            self.multiplier = multiplier
        }
    }

    /// One `sets` entry: a name and the expression of the model combinations that may run together.
    public struct Set: Sendable, Hashable {
        /// The key under `sets:`; `+name` in another expression refers to it.
        public var name: String
        /// The expression, e.g. `(g | q) & v` (see ``MatrixExpressionParser``).
        public var expression: String

        public init(name: String, expression: String) {
            self.name = name
            self.expression = expression
        }
    }

    /// `vars`, in file order.
    public var vars: [Variable]
    /// `evict_costs`, in file order.
    public var evictCosts: [EvictCost]
    /// `sets`, in file order.
    public var sets: [Set]

    public init(vars: [Variable] = [], evictCosts: [EvictCost] = [], sets: [Set]) {
        self.vars = vars
        self.evictCosts = evictCosts
        self.sets = sets
    }
}
