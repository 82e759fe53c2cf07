import Logging

/// A swift-log handler that writes the proxy's own messages into a `LogBuffer` as `[proxy] level: message`, so
/// `/logs` shows what the proxy did next to what the upstreams printed. Combine it with the console handler through
/// `MultiplexLogHandler` when bootstrapping in `main`.
public struct LogBufferLogHandler: LogHandler {
    /// Messages below this level are not kept.
    public var logLevel: Logger.Level
    /// Metadata added to every message, as swift-log's handlers keep it.
    public var metadata: Logger.Metadata = [:]
    private let buffer: LogBuffer
    private let source: String

    /// - Parameter source: the prefix shown in the buffer (`proxy` by default).
    public init(buffer: LogBuffer, logLevel: Logger.Level = .info, source: String = "proxy") {
        self.buffer = buffer
        self.logLevel = logLevel
        self.source = source
    }

    /// One metadata value (swift-log's handler contract).
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Appends the message, with its metadata sorted by key, as one line.
    public func log(event: LogEvent) {
        var text = "\(event.level): \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        buffer.append(text, source: source)
    }
}
