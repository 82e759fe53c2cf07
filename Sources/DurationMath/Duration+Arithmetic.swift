/// `Duration` as the proxy, the fake and the harness compute with it: seconds as a `Double`, whole nanoseconds, and
/// scaling by a time factor that saturates instead of trapping.
///
/// A target of its own (standard library only) because all three use it and none of them is the right home: it is
/// neither a wire format (`Wire`) nor YAML reading (`LocatedYAML`).
extension Duration {
    /// The duration as a floating-point number of seconds, for arithmetic such as time scaling.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, rounded toward zero.
    public var nanoseconds: Int64 {
        let (s, attoseconds) = components
        return s * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// This duration multiplied by a time scale (`0.01` replays 95 s in 0.95 s).
    /// The product saturates at `Int64` nanoseconds instead of trapping.
    public func scaled(by factor: Double) -> Duration {
        let product = (Double(nanoseconds) * factor).rounded()
        guard product.isFinite else { return product < 0 ? .nanoseconds(Int64.min) : .nanoseconds(Int64.max) }
        if product >= Double(Int64.max) { return .nanoseconds(Int64.max) }
        if product <= Double(Int64.min) { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(product))
    }
}
