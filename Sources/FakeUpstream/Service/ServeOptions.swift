/// What `harness serve` was asked to do; the executable only parses arguments into this.
public struct ServeOptions: Sendable, Hashable {
    /// A scenario file, or a directory of them.
    public var scenarioPath: String
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// Overrides every file's `timeScale` when given.
    public var timeScale: Double?

    public init(scenarioPath: String, host: String = "127.0.0.1", port: Int, timeScale: Double? = nil) {
        self.scenarioPath = scenarioPath
        self.host = host
        self.port = port
        self.timeScale = timeScale
    }
}

/// Why `harness serve` could not start, worded for the person who ran it.
public struct ServeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The error this one was made from (a scenario that does not parse, a failed bind), if any.
    public var underlying: (any Error)?

    public init(_ description: String, underlying: (any Error)? = nil) {
        self.description = description
        self.underlying = underlying
    }
}
