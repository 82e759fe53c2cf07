import Foundation

/// Durations as people read them in verdict lines and reports.
public enum TimeText {
    /// `1.23 s`, `10 s` for whole seconds, `12 ms` under a second, `0 s`.
    public static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        if value == 0 { return "0 s" }
        if abs(value) < 1 { return "\(Int((value * 1000).rounded())) ms" }
        if value == value.rounded() && abs(value) < 1e15 { return "\(Int(value)) s" }
        return String(format: "%.2f s", value)
    }
}
