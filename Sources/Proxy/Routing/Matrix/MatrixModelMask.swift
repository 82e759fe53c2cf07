/// A set of models as bits: bit `i` stands for the `i`th model a ``MatrixProjection`` cares about.
struct MatrixModelMask: Sendable, Hashable {
    private var words: [UInt64]

    /// No model, sized for `bitCount` models.
    init(bitCount: Int) {
        words = Array(repeating: 0, count: max(1, (bitCount + 63) / 64))
    }

    func contains(_ bit: Int) -> Bool {
        words[bit / 64] & (1 << UInt64(bit % 64)) != 0
    }

    mutating func insert(_ bit: Int) {
        words[bit / 64] |= 1 << UInt64(bit % 64)
    }

    func union(_ other: MatrixModelMask) -> MatrixModelMask {
        var result = self
        for index in words.indices { result.words[index] |= other.words[index] }
        return result
    }

    /// Every model of `self` is in `other`.
    func isSubset(of other: MatrixModelMask) -> Bool {
        for index in words.indices where words[index] & ~other.words[index] != 0 { return false }
        return true
    }
}
