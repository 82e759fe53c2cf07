/// One thing wrong with a matrix definition: where (which set, var or evict cost) and what.
///
/// It carries no file location: the config layer knows where each set, var and evict cost is written and puts
/// `file:line:column` in front (for ``Place/set(_:column:)`` with a column, the scalar's start column plus that
/// column minus one, plus one more for an opening quote).
public struct MatrixConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The part of the matrix the error is about.
    public enum Place: Sendable, Hashable {
        /// The `sets` mapping as a whole.
        case sets
        /// The set `name`; `column` (Unicode scalars from 1, within its expression) when one spot is at fault.
        case set(String, column: Int?)
        /// The `vars` entry `key`.
        case variable(String)
        /// The `evict_costs` entry `key`.
        case evictCost(String)
    }

    /// What is wrong.
    public enum Problem: Sendable, Hashable {
        /// `sets` is missing or empty: the matrix allows nothing.
        case noSets
        /// Two sets with one name (the config layer normally reports the duplicate key first).
        case duplicateSet
        /// The expression does not parse.
        case syntax(MatrixSyntaxError.Problem)
        /// An identifier is neither a var key nor a model id. `isSetName`: it names a set (`+` forgotten).
        case unknownIdentifier(String, isSetName: Bool)
        /// `+name` names no set. `isIdentifier`: `name` is a var key or model id (`+` in excess).
        case undefinedSet(String, isIdentifier: Bool)
        /// Sets that reference each other in a circle, in reference order, starting and ending with this set.
        case cycle([String])
        /// A var key outside `[A-Za-z0-9.-]{1,32}`.
        case invalidVarKey
        /// A var's value is not a model id; `aliasOf` when it is an alias of one.
        case unknownModel(String, aliasOf: String?)
        /// An evict cost below 1.
        case nonPositiveCost(Int)
        /// An evict cost for a key that is neither a var key nor a model id.
        case unknownCostKey
    }

    public var place: Place
    public var problem: Problem

    public init(_ problem: Problem, at place: Place) {
        self.problem = problem
        self.place = place
    }

    /// The message without a file location, e.g. `set 'standard', column 7: unknown var or model 'qq'`.
    public var description: String { "\(placeDescription): \(problemDescription)" }

    private var placeDescription: String {
        switch place {
        case .sets: return "matrix sets"
        case .set(let name, column: nil): return "set '\(name)'"
        case .set(let name, column: let column?): return "set '\(name)', column \(column)"
        case .variable(let key): return "var '\(key)'"
        case .evictCost(let key): return "evict_costs '\(key)'"
        }
    }

    private var problemDescription: String {
        switch problem {
        case .noSets:
            return "the matrix must define at least one set"
        case .duplicateSet:
            return "the set is defined twice"
        case .syntax(let problem):
            return problem.description
        case .unknownIdentifier(let name, isSetName: false):
            return "unknown var or model '\(name)'"
        case .unknownIdentifier(let name, isSetName: true):
            return "unknown var or model '\(name)' (to use the set '\(name)', write '+\(name)')"
        case .undefinedSet(let name, isIdentifier: false):
            return "references undefined set '\(name)'"
        case .undefinedSet(let name, isIdentifier: true):
            return "references undefined set '\(name)' ('\(name)' is a var or model: write it without '+')"
        case .cycle(let names):
            return "circular reference: " + names.map { "'\($0)'" }.joined(separator: " → ")
        case .invalidVarKey:
            return "a var key has 1 to 32 characters, each an ASCII letter, digit, '-' or '.'"
        case .unknownModel(let model, aliasOf: nil):
            return "references unknown model '\(model)'"
        case .unknownModel(let model, aliasOf: let target?):
            return "references '\(model)', an alias of '\(target)': vars name model ids, not aliases"
        case .nonPositiveCost(let value):
            return "the multiplier must be a positive integer, got \(value)"
        case .unknownCostKey:
            return "unknown var or model"
        }
    }
}

/// Every error of a matrix definition, in the order llama-swap's example writes the keys: vars, then evict costs,
/// then sets (each as written; within a set, by column).
public struct MatrixConfigErrors: Error, Sendable, Hashable, CustomStringConvertible {
    public var errors: [MatrixConfigError]

    public init(_ errors: [MatrixConfigError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
