/// The models of one combination, as a tree built while combining (cheap to share): flattened only for the
/// combination a decision picks.
indirect enum MatrixWitness: Sendable, Hashable {
    case none
    case model(String)
    case union(MatrixWitness, MatrixWitness)

    /// The distinct model ids, sorted by their UTF-8 bytes.
    var models: [String] {
        var seen: Swift.Set<String> = []
        var pending: [MatrixWitness] = [self]
        while let next = pending.popLast() {
            switch next {
            case .none: break
            case .model(let id): seen.insert(id)
            case .union(let left, let right): pending.append(contentsOf: [right, left])
            }
        }
        return seen.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
