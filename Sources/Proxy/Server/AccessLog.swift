import DurationMath
import Logging

/// The access log: one structured line per request, at `info`, when it ends. The values are swift-log metadata (a
/// JSON or logfmt handler gets fields), and `request` is the same id every other line about that request carries.
enum AccessLog {
    static func write(_ stats: RequestStats, to logger: Logger) {
        func milliseconds(_ duration: Duration?) -> Logger.MetadataValue {
            guard let duration else { return "none" }
            return "\(Double(duration.nanoseconds / 1000) / 1000)"
        }
        logger.info(
            "access",
            metadata: [
                "request": "\(stats.id)",
                "model": "\(stats.model ?? "-")",
                "route": "\(stats.route)",
                "status": "\(stats.status ?? 0)",
                "bytes": "\(stats.bytesSent)",
                "duration_ms": milliseconds(stats.duration),
                "ttfb_ms": milliseconds(stats.timeToFirstByte),
                "heartbeats": "\(stats.heartbeats?.heartbeatsSent ?? 0)",
                "withheld": "\(stats.heartbeats?.heartbeatsWithheld ?? 0)",
                "client_gone": "\(stats.clientGoneEarly)",
            ])
    }
}
