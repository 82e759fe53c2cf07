extension Duration {
    /// The longest offset a plan uses (about 31 years): absurd scripted values (a rate of one token per century, a
    /// time scale of a million) saturate here instead of overflowing `Int64` nanoseconds and trapping.
    static let planHorizon: Duration = .seconds(1_000_000_000)

    /// `seconds` as a duration, clamped to `0...planHorizon`; not-a-number counts as zero.
    static func saturating(seconds: Double) -> Duration {
        guard seconds > 0 else { return .zero }
        guard seconds < Double(planHorizon.components.seconds) else { return planHorizon }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// This duration times `factor`, clamped like `saturating(seconds:)`; rounds to the nanosecond exactly as
    /// `scaled(by:)` does, but cannot overflow.
    func saturatingScaled(by factor: Double) -> Duration {
        let (wholeSeconds, attoseconds) = components
        let nanos = (Double(wholeSeconds) * 1e9 + Double(attoseconds / 1_000_000_000)) * factor
        guard nanos > 0 else { return .zero }
        guard nanos < Double(Self.planHorizon.components.seconds) * 1e9 else { return Self.planHorizon }
        return .nanoseconds(Int64(nanos.rounded()))
    }
}
