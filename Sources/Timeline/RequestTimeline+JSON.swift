import Wire

/// The model's JSON form, which the proxy's `/api/activity/{id}/timeline` serves and the web UI draws: times in
/// milliseconds (numbers), lanes by name, labels never empty (byte marks read `123 B`); `end` only on marks that
/// last (a request's span, byte marks that later ones were merged into).
extension RequestTimeline {
    /// `"events":[{"t","lane","bytes","label"}]` and `"deadlines":[{"profile","t","label","fired"}]`, as two JSON
    /// members (no braces around them), for the caller to put in its object.
    public var jsonMembers: String {
        var out = "\"events\":["
        var first = true
        for event in events {
            if !first { out += "," }
            first = false
            var label = event.label
            if label.isEmpty, let bytes = event.bytes {
                label = event.lane == .heartbeat ? "heartbeat (\(bytes) B)" : "\(bytes) B"
            }
            out += "{\"t\":\(Self.milliseconds(event.t)),\"lane\":\"\(event.lane.rawValue)\","
            out += "\"bytes\":\(event.bytes.map { "\($0)" } ?? "null"),\"label\":\(Self.quote(label))"
            if let end = event.end { out += ",\"end\":\(Self.milliseconds(end))" }
            out += "}"
        }
        out += "],\"deadlines\":["
        first = true
        for deadline in deadlines {
            if !first { out += "," }
            first = false
            out += "{\"profile\":\(Self.quote(deadline.profile)),\"t\":\(Self.milliseconds(deadline.t)),"
            out += "\"label\":\(Self.quote(deadline.label)),\"fired\":\(deadline.fired)}"
        }
        return out + "]"
    }

    /// Milliseconds, to the microsecond, as a JSON number.
    public static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        guard value.isFinite else { return "null" }
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? "\(Int64(rounded))" : "\(rounded)"
    }

    static func quote(_ text: String) -> String { JSONText.quote(text) }
}
