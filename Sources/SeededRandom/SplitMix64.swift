/// A tiny seeded pseudo-random generator (Steele, Lea and Flood's SplitMix64).
///
/// The player needs randomness that is the same on every platform and Swift version, so that a scenario's seed
/// always yields the same jitter, words and ids; the standard library's generators and `random(in:using:)`
/// algorithms give no such promise, so draws go through `nextUnit()` and `nextIndex(below:)` only.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0..<1` with 53 bits of precision.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A value in `0..<bound` (0 when `bound` is not positive); the modulo bias is negligible for the small bounds
    /// used here.
    public mutating func nextIndex(below bound: Int) -> Int {
        guard bound > 0 else { return 0 }
        return Int(next() % UInt64(bound))
    }
}
