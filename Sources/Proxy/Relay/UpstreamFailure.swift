import DurationMath
import Wire

/// Why an upstream gave no usable answer, for the error a client receives (passed through with its status before
/// anything was committed, in band after).
///
/// One place for these messages, so that a client sees the same words whether or not a heartbeat went out first.
public enum UpstreamFailure: Sendable, Hashable {
    /// The connection to the upstream could not be made (`detail`: the system's reason).
    case connectionRefused(model: String, detail: String)
    /// The upstream closed or reset the connection before its answer was complete.
    case connectionLost(model: String)
    /// The upstream's own event-stream answer broke off after `events` complete events: by a reset (RST) or a
    /// plain close (FIN). The words are the ones item 7 of the scenarios issue fixes for clients and scenario files.
    case streamBroken(reset: Bool, events: Int)
    /// The model's process did not pass its health check in time.
    case healthCheckTimedOut(model: String, after: Duration)
    /// The model's process could not be started or exited while starting (`detail`: what happened).
    case startFailed(model: String, detail: String)

    /// The error envelope for this failure.
    public var openAIError: OpenAIError {
        switch self {
        case .connectionRefused(let model, let detail):
            error(502, "upstream for model '\(model)' refused the connection: \(detail)")
        case .connectionLost(let model):
            error(502, "upstream for model '\(model)' closed the connection before its answer was complete")
        case .streamBroken(let reset, let events):
            error(502, "upstream connection \(reset ? "reset" : "closed") after \(events) events")
        case .healthCheckTimedOut(let model, let after):
            error(504, "model '\(model)' did not become ready within \(after.nanoseconds / 1_000_000) ms")
        case .startFailed(let model, let detail):
            error(502, "model '\(model)' failed to start: \(detail)")
        }
    }

    private func error(_ status: Int, _ message: String) -> OpenAIError {
        OpenAIError(message: message, type: OpenAIError.type(forStatus: status), code: status)
    }
}
