extension HealthScript {
    /// The state `/health` is in `uptime` after the fake started, with every duration multiplied by `timeScale`.
    ///
    /// Each state holds for its (scaled) duration; a state without one holds forever. After the last state the
    /// script starts again when it `repeats` (flapping health), else the last state holds forever. No states at all
    /// means ready.
    public func state(at uptime: Duration, timeScale: Double = 1) -> HealthState {
        guard let last = states.last else { return HealthState(status: 200) }
        let durations = states.map { $0.duration?.saturatingScaled(by: timeScale) }
        var remaining = max(uptime, .zero)
        if repeats, durations.allSatisfy({ $0 != nil }) {
            let cycle = durations.reduce(Duration.zero) { $0 + ($1 ?? .zero) }
            guard cycle > .zero else { return last }
            if remaining >= cycle {
                remaining = .nanoseconds(remaining.nanoseconds % cycle.nanoseconds)
            }
        }
        for (state, duration) in zip(states, durations) {
            guard let duration, remaining >= duration else { return state }
            remaining -= duration
        }
        return last
    }
}

extension HealthState {
    /// What `/health` sends in this state: the scripted body, else llama.cpp's own for the status
    /// (`{"status":"ok"}` when 200, the "Loading model" error when 503, an error object naming the status otherwise).
    public var responseBody: [UInt8] {
        if let body { return body }
        switch status {
        case 200: return Array("{\"status\":\"ok\"}".utf8)
        case 503: return Array(LlamaServerDefaults.loadingModelBody.utf8)
        default:
            return Array(
                LlamaServerJSON.error(
                    code: status, message: HTTPWire.reasonPhrase(for: status),
                    type: status >= 500 ? "server_error" : "invalid_request_error"
                ).utf8
            )
        }
    }

    /// Whether this state is llama.cpp's "still loading the model" (503 with its default body); every other
    /// endpoint then answers the same 503, as llama-server's middleware does.
    public var isLoadingModel: Bool { status == 503 && body == nil }
}
