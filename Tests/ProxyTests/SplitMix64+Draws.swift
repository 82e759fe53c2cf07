import SeededRandom

/// The draws ProxyTests' random tables use, on the one seeded generator (SeededRandom's SplitMix64), so a failing
/// seed replays exactly.
extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { nextIndex(below: bound) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}
