import Timeline
import Wire

/// JSON text for the activity endpoints: strings quoted by Wire's ``JSONText``, times in milliseconds as
/// numbers, `null` for what is unknown.
enum ActivityJSON {
    static func string(_ text: String) -> String { JSONText.quote(text) }

    static func milliseconds(_ duration: Duration) -> String { RequestTimeline.milliseconds(duration) }

    static func milliseconds(_ duration: Duration?) -> String {
        duration.map(milliseconds) ?? "null"
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        // Microsecond precision is plenty for a timeline, and keeps the text short.
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? "\(Int64(rounded))" : "\(rounded)"
    }

    static func number(_ value: Double?) -> String { value.map(number) ?? "null" }
    static func number(_ value: Int?) -> String { value.map { "\($0)" } ?? "null" }
}
