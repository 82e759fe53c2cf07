/// llama-swap's `logToStdout`: which logs reach the console.
///
/// llama-swap writes its own log lines to stdout; ours go to stderr (with `--log-level`), so `proxy` keeps them
/// there, and the upstream copy goes to stdout as llama-swap's does: `docker logs` or journald then show
/// llama-server's own output without `logLevel: debug`. `GET /logs` and `/logs/stream` keep every line whatever this
/// says.
public enum LogToStdout: String, Sendable, Hashable, CaseIterable {
    /// The proxy's own log lines (the default).
    case proxy
    /// A copy of every upstream process's output, line by line as it printed it, on stdout; no proxy lines.
    case upstream
    /// Both, interleaved.
    case both
    /// Nothing on the console.
    case none

    /// The proxy's own lines reach the console.
    public var includesProxy: Bool { self == .proxy || self == .both }
    /// Upstream output is copied to stdout.
    public var includesUpstream: Bool { self == .upstream || self == .both }
}
