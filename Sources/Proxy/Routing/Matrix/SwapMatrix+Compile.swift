extension SwapMatrix {
    /// Compiles a matrix definition against the config's `models` (ids) and `aliases` (alias → model id, used only
    /// to explain a var that names an alias). Reports every error, not just the first (see ``MatrixConfigErrors``).
    ///
    /// Checks (llama-swap's `ValidateMatrix` and `Compile`): at least one set; var keys match `[A-Za-z0-9.-]{1,32}`
    /// and name model ids; evict costs are positive and keyed by a var or model id; every expression parses, every
    /// identifier resolves, every `+name` names a set, and no set reaches itself through references.
    public static func compile(
        _ definition: MatrixDefinition,
        models: Swift.Set<String>,
        aliases: [String: String] = [:]
    ) -> Result<SwapMatrix, MatrixConfigErrors> {
        var compiler = MatrixCompiler(definition: definition, models: models, aliases: aliases)
        return compiler.compile()
    }
}

/// The steps of ``SwapMatrix/compile(_:models:aliases:)``; one use.
private struct MatrixCompiler {
    let definition: MatrixDefinition
    let models: Set<String>
    let aliases: [String: String]

    var headErrors: [MatrixConfigError] = []
    /// Errors per set, by definition index.
    var setErrors: [[MatrixConfigError]]
    /// var key → model id.
    var vars: [String: String] = [:]
    /// set name → definition index (the first definition of a name).
    var setIndex: [String: Int] = [:]
    /// Per set: the sets it references, first reference first, with the column of that reference.
    var dependencies: [[(index: Int, column: Int)]]
    var roots: [MatrixNode?]

    init(definition: MatrixDefinition, models: Set<String>, aliases: [String: String]) {
        self.definition = definition
        self.models = models
        self.aliases = aliases
        self.setErrors = Array(repeating: [], count: definition.sets.count)
        self.dependencies = Array(repeating: [], count: definition.sets.count)
        self.roots = Array(repeating: nil, count: definition.sets.count)
    }

    mutating func compile() -> Result<SwapMatrix, MatrixConfigErrors> {
        checkVars()
        let multipliers = checkEvictCosts()
        if definition.sets.isEmpty { headErrors.append(MatrixConfigError(.noSets, at: .sets)) }
        for (index, set) in definition.sets.enumerated() {
            if setIndex[set.name] == nil {
                setIndex[set.name] = index
            } else {
                setErrors[index].append(MatrixConfigError(.duplicateSet, at: .set(set.name, column: nil)))
            }
        }
        for index in definition.sets.indices { resolve(set: index) }
        let rankOrder = rankAndFindCycles()

        let errors = headErrors + setErrors.flatMap { bucket in bucket.sorted { column($0) < column($1) } }
        guard errors.isEmpty else { return .failure(MatrixConfigErrors(errors)) }

        var reachable: [Int: Set<String>] = [:]
        for index in rankOrder {  // a set's references come before it
            reachable[index] = modelsNamed(by: roots[index]!, known: reachable)
        }
        let compiled = definition.sets.enumerated().map { index, set in
            SwapMatrix.CompiledSet(
                name: set.name, expression: set.expression, root: roots[index]!, models: reachable[index] ?? [])
        }
        return .success(SwapMatrix(sets: compiled, rankOrder: rankOrder, multipliers: multipliers))
    }

    // MARK: vars and evict_costs

    private mutating func checkVars() {
        for variable in definition.vars {
            if !Self.isValidVarKey(variable.key) {
                headErrors.append(MatrixConfigError(.invalidVarKey, at: .variable(variable.key)))
            }
            if !models.contains(variable.model) {
                headErrors.append(
                    MatrixConfigError(
                        .unknownModel(variable.model, aliasOf: aliases[variable.model]), at: .variable(variable.key)))
            }
            // Kept even when wrong, so that sets using it do not repeat the error as an unknown identifier.
            if vars[variable.key] == nil { vars[variable.key] = variable.model }
        }
    }

    private mutating func checkEvictCosts() -> [String: Int] {
        var multipliers: [String: Int] = [:]
        for cost in definition.evictCosts {
            if cost.multiplier < 1 {
                headErrors.append(MatrixConfigError(.nonPositiveCost(cost.multiplier), at: .evictCost(cost.key)))
            }
            guard let model = resolveIdentifier(cost.key) else {
                headErrors.append(MatrixConfigError(.unknownCostKey, at: .evictCost(cost.key)))
                continue
            }
            multipliers[model] = cost.multiplier
        }
        return multipliers
    }

    /// `[A-Za-z0-9.-]{1,32}`, as llama-swap's `varKeyPattern`.
    static func isValidVarKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
    }

    /// A var key (first) or a model id → the model id.
    private func resolveIdentifier(_ name: String) -> String? {
        if let model = vars[name] { return model }
        return models.contains(name) ? name : nil
    }

    // MARK: sets

    private mutating func resolve(set index: Int) {
        let set = definition.sets[index]
        switch MatrixExpressionParser.parse(set.expression) {
        case .failure(let error):
            setErrors[index].append(MatrixConfigError(.syntax(error.problem), at: .set(set.name, column: error.column)))
        case .success(let expression):
            roots[index] = link(expression, in: index)
        }
    }

    private mutating func link(_ expression: MatrixExpression, in index: Int) -> MatrixNode {
        let name = definition.sets[index].name
        switch expression {
        case .identifier(let identifier, let column):
            if let model = resolveIdentifier(identifier) { return .model(model) }
            let problem = MatrixConfigError.Problem.unknownIdentifier(
                identifier, isSetName: setIndex[identifier] != nil)
            setErrors[index].append(MatrixConfigError(problem, at: .set(name, column: column)))
            return .model(identifier)
        case .reference(let target, let column):
            guard let targetIndex = setIndex[target] else {
                let problem = MatrixConfigError.Problem.undefinedSet(
                    target, isIdentifier: resolveIdentifier(target) != nil)
                setErrors[index].append(MatrixConfigError(problem, at: .set(name, column: column)))
                return .all([])
            }
            if !dependencies[index].contains(where: { $0.index == targetIndex }) {
                dependencies[index].append((targetIndex, column))
            }
            return .set(targetIndex)
        case .all(let operands):
            return .all(operands.map { link($0, in: index) })
        case .any(let operands):
            return .any(operands.map { link($0, in: index) })
        }
    }

    /// Orders sets as llama-swap ranks them (a depth-first walk in definition order, each set after the sets it
    /// references) and reports each reference that closes a circle, at the referencing set.
    private mutating func rankAndFindCycles() -> [Int] {
        enum Mark { case unvisited, onPath, done }
        var marks = Array(repeating: Mark.unvisited, count: definition.sets.count)
        var path: [Int] = []
        var order: [Int] = []

        func visit(_ index: Int) {
            marks[index] = .onPath
            path.append(index)
            for dependency in dependencies[index] {
                switch marks[dependency.index] {
                case .unvisited:
                    visit(dependency.index)
                case .onPath:
                    let start = path.lastIndex(of: dependency.index)!
                    let names = ([index] + path[start...]).map { definition.sets[$0].name }
                    let name = definition.sets[index].name
                    setErrors[index].append(
                        MatrixConfigError(.cycle(names), at: .set(name, column: dependency.column)))
                case .done:
                    break
                }
            }
            path.removeLast()
            marks[index] = .done
            order.append(index)
        }

        for index in definition.sets.indices where marks[index] == .unvisited {
            visit(index)
        }
        return order
    }

    private func modelsNamed(by node: MatrixNode, known: [Int: Set<String>]) -> Set<String> {
        switch node {
        case .model(let id): return [id]
        case .set(let index): return known[index] ?? []
        case .all(let operands), .any(let operands):
            return operands.reduce(into: Set<String>()) { $0.formUnion(modelsNamed(by: $1, known: known)) }
        }
    }

    private func column(_ error: MatrixConfigError) -> Int {
        if case .set(_, column: let column?) = error.place { return column }
        return 0
    }
}
