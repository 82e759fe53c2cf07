import LocatedYAML

// Reading `routing:` (router and scheduler) and llama-swap's legacy top-level `matrix:`.

/// What `routing.router` says, before models are known.
struct RawRouting {
    var engine: RoutingSettings.Engine = .group
    /// Where the engine is chosen (`use:`), for the warning about the matrix.
    var engineNode: YAMLNode?
    var groupsNode: YAMLNode?
    var groupsPath = "groups"
    var matrix: MatrixSettings?
    var matrixPath = "matrix"
    var priorityNode: YAMLNode?
    var priorityKey: SourceLocation?
    /// Whether `routing.router` chose or configured anything (llama-swap refuses it next to top-level groups).
    var routerUsed = false
}

extension ConfigLoading {
    /// `routing:`: `router` (`use: group|matrix`, `settings.groups`, `settings.matrix`) and `scheduler` (`use: fifo`,
    /// `settings.fifo.priority`).
    mutating func readRouting(_ node: YAMLNode, into routing: inout RawRouting) throws(LocatedError) {
        let fields = try knownFields(node, at: "routing", allowed: ["router", "scheduler"], place: "routing")
        if let router = fields["router"], !router.isNull {
            let routerFields = try knownFields(
                router, at: "routing.router", allowed: ["use", "settings"], place: "routing.router")
            if let use = routerFields["use"], !use.isNull {
                routing.engine = try reader.choice(use, "routing.router.use", ["group": .group, "matrix": .matrix])
                routing.engineNode = use
                routing.routerUsed = true
            }
            if let settings = routerFields["settings"], !settings.isNull {
                let settingsFields = try knownFields(
                    settings, at: "routing.router.settings", allowed: ["groups", "matrix"],
                    place: "routing.router.settings")
                if let groups = settingsFields["groups"], !groups.isNull {
                    routing.groupsNode = groups
                    routing.groupsPath = "routing.router.settings.groups"
                    if groups.mapping?.isEmpty == false { routing.routerUsed = true }
                }
                if let matrix = settingsFields["matrix"], !matrix.isNull {
                    routing.matrix = try readMatrix(matrix, path: "routing.router.settings.matrix")
                    routing.matrixPath = "routing.router.settings.matrix"
                    routing.routerUsed = true
                }
            }
        }
        if let scheduler = fields["scheduler"], !scheduler.isNull {
            let schedulerFields = try knownFields(
                scheduler, at: "routing.scheduler", allowed: ["use", "settings"], place: "routing.scheduler")
            if let use = schedulerFields["use"], !use.isNull {
                _ = try reader.choice(use, "routing.scheduler.use", ["fifo": ()])
            }
            if let settings = schedulerFields["settings"], !settings.isNull {
                let settingsFields = try knownFields(
                    settings, at: "routing.scheduler.settings", allowed: ["fifo"], place: "routing.scheduler.settings")
                if let fifo = settingsFields["fifo"], !fifo.isNull {
                    let fifoFields = try knownFields(
                        fifo, at: "routing.scheduler.settings.fifo", allowed: ["priority"],
                        place: "routing.scheduler.settings.fifo")
                    if let priority = fifoFields.entry("priority"), !priority.value.isNull {
                        routing.priorityNode = priority.value
                        routing.priorityKey = priority.keyNode.location
                    }
                }
            }
        }
    }

    /// A matrix as written (`vars`, `evict_costs`, `sets`); names are checked when it is compiled.
    mutating func readMatrix(_ node: YAMLNode, path: String) throws(LocatedError) -> MatrixSettings {
        let fields = try knownFields(
            node, at: path, allowed: ["vars", "evict_costs", "sets"], expecting: "a mapping with sets",
            place: path)
        var matrix = MatrixSettings(location: node.location)
        if let vars = fields["vars"], !vars.isNull {
            for entry in try reader.entries(vars, "\(path).vars") {
                let model = try reader.oneLine(entry.value, "\(path).vars.\(entry.key)")
                matrix.definition.vars.append(.init(key: entry.key, model: model))
                matrix.varLocations[entry.key] = entry.keyNode.location
            }
        }
        if let costs = fields["evict_costs"], !costs.isNull {
            for entry in try reader.entries(costs, "\(path).evict_costs") {
                let cost = try reader.integer(
                    entry.value, "\(path).evict_costs.\(entry.key)", in: 1...Int(Int32.max),
                    expected: "a positive whole number")
                matrix.definition.evictCosts.append(.init(key: entry.key, multiplier: cost))
                matrix.evictCostLocations[entry.key] = entry.keyNode.location
            }
        }
        if let sets = fields["sets"], !sets.isNull {
            for entry in try reader.entries(sets, "\(path).sets") {
                if matrix.setPlaces[entry.key] != nil {
                    throw LocatedError(
                        "\(path).sets: the set '\(entry.key)' is defined twice", at: entry.keyNode.location)
                }
                guard let scalar = entry.value.scalar, !entry.value.isNull else {
                    throw reader.mismatch(
                        "\(path).sets.\(entry.key)", expected: "an expression such as \"a & (b | c)\"", got: entry.value
                    )
                }
                let expression = try reader.string(entry.value, "\(path).sets.\(entry.key)")
                matrix.definition.sets.append(.init(name: entry.key, expression: expression))
                matrix.setPlaces[entry.key] = .init(
                    location: entry.keyNode.location, expressionLocation: entry.value.location,
                    isQuoted: !scalar.isPlain)
            }
        }
        return matrix
    }

    /// Compiles the active matrix against the models, turning the solver's errors into located ones.
    func compileMatrix(_ matrix: MatrixSettings, path: String, models: Set<String>, aliases: [String: String])
        throws(LocatedError)
    {
        guard case .failure(let failure) = SwapMatrix.compile(matrix.definition, models: models, aliases: aliases)
        else { return }
        let located = failure.errors.map { error -> (SourceLocation, String) in
            switch error.place {
            case .sets: return (matrix.location, error.description)
            case .set(let name, let column):
                guard let set = matrix.setPlaces[name] else {
                    return (matrix.location, error.description)
                }
                var location = set.expressionLocation
                if let column { location.column += column - 1 + (set.isQuoted ? 1 : 0) }
                return (location, error.description)
            case .variable(let key):
                return (matrix.varLocations[key] ?? matrix.location, error.description)
            case .evictCost(let key):
                return (matrix.evictCostLocations[key] ?? matrix.location, error.description)
            }
        }
        let first = located[0]
        let more = located.dropFirst().map { "\($0.0): \($0.1)" }
        let tail = more.isEmpty ? "" : "\n" + more.joined(separator: "\n")
        throw LocatedError("\(path): \(first.1)\(tail)", at: first.0, underlying: failure)
    }

    /// `routing.scheduler.settings.fifo.priority`: model id (or alias) → integer.
    mutating func readPriority(
        _ node: YAMLNode, key: SourceLocation, models: [String: ModelConfig], aliases: [String: String]
    )
        throws(LocatedError) -> [String: Int]
    {
        let path = "routing.scheduler.settings.fifo.priority"
        var priority: [String: Int] = [:]
        for entry in try reader.entries(node, path) {
            let value = try reader.integer(
                entry.value, "\(path).\(entry.key)", in: Int(Int32.min)...Int(Int32.max), expected: "a whole number")
            guard let model = models[entry.key]?.id ?? aliases[entry.key] else {
                warnings.append(
                    ConfigWarning(
                        "\(path) names '\(entry.key)', which is not a model or alias defined under models; ignored",
                        at: entry.keyNode.location, keyPath: "\(path).\(entry.key)"))
                continue
            }
            priority[model] = value
        }
        return priority
    }
}
