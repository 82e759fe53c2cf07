import ServiceLifecycle

/// The live readers of a ``LogBuffer`` (`GET /logs/stream`) as a `Service`: on shutdown their streams end at once,
/// so each `/logs/stream` response ends its chunked body cleanly instead of holding the shutdown for the whole
/// grace; a reader that subscribes later gets an ended stream.
///
/// Runs after the server in the group, so the group shuts it down first.
public struct LogStreamService: Service {
    let logs: LogBuffer

    public init(logs: LogBuffer) {
        self.logs = logs
    }

    public func run() async throws {
        try? await gracefulShutdown()
        logs.close()
    }
}
