import DurationMath

/// A client's timeout rules, as the client documents them: what a real client (or a proxy in front of us) does
/// when the upstream is slow. `harness replay` applies them live to real byte arrivals, and `ProfileEvaluator`
/// applies them to a recorded timeline.
///
/// Every timer is optional; a `nil` timer never fires. Durations are real-world values; `scaled(by:)` gives the
/// run's copy.
public struct ClientProfile: Sendable, Hashable {
    /// The name used in scenario files and on the command line (`undici`, `openai-python`, `custom`).
    public var name: String
    /// One line saying which client this models and where its rules are documented.
    public var summary: String
    /// From sending the request until the response head is complete (undici `headersTimeout`).
    public var headersTimeout: Duration?
    /// From sending the request until the first byte of the response (Cloudflare's 524 after 100 s).
    public var firstByteTimeout: Duration?
    /// Longest silence between reads, the wait for the first byte included (httpx read timeout, nginx
    /// `proxy_read_timeout`).
    public var readTimeout: Duration?
    /// Longest silence between body reads once the head is complete (undici `bodyTimeout`).
    public var bodyTimeout: Duration?
    /// Longest whole attempt.
    public var totalTimeout: Duration?
    /// How many times a timed-out request is sent again, on a new connection.
    public var retries: Int
    /// The wait before the first retry; each later retry waits twice as long as the one before, at most
    /// `maximumRetryDelay`.
    public var retryDelay: Duration
    /// The cap on the wait between retries.
    public var maximumRetryDelay: Duration

    /// A profile; every timer left `nil` is off.
    public init(
        name: String, summary: String, headersTimeout: Duration? = nil, firstByteTimeout: Duration? = nil,
        readTimeout: Duration? = nil, bodyTimeout: Duration? = nil, totalTimeout: Duration? = nil,
        retries: Int = 0, retryDelay: Duration = .zero, maximumRetryDelay: Duration = .zero
    ) {
        self.name = name
        self.summary = summary
        self.headersTimeout = headersTimeout
        self.firstByteTimeout = firstByteTimeout
        self.readTimeout = readTimeout
        self.bodyTimeout = bodyTimeout
        self.totalTimeout = totalTimeout
        self.retries = retries
        self.retryDelay = retryDelay
        self.maximumRetryDelay = maximumRetryDelay
    }

    /// This profile with every duration multiplied by `factor` (the run's time scale).
    public func scaled(by factor: Double) -> ClientProfile {
        var copy = self
        copy.headersTimeout = headersTimeout?.scaled(by: factor)
        copy.firstByteTimeout = firstByteTimeout?.scaled(by: factor)
        copy.readTimeout = readTimeout?.scaled(by: factor)
        copy.bodyTimeout = bodyTimeout?.scaled(by: factor)
        copy.totalTimeout = totalTimeout?.scaled(by: factor)
        copy.retryDelay = retryDelay.scaled(by: factor)
        copy.maximumRetryDelay = maximumRetryDelay.scaled(by: factor)
        return copy
    }

    /// The wait before retry number `retry` (1 for the first retry).
    public func delay(beforeRetry retry: Int) -> Duration {
        guard retry >= 1 else { return .zero }
        var delay = retryDelay
        for _ in 1..<retry where delay < maximumRetryDelay { delay = delay * 2 }
        return min(delay, maximumRetryDelay)
    }

    /// The longest any single timer of this profile waits: after that much silence the client has surely given
    /// up; `nil` when it would wait forever.
    public var longestTimer: Duration? {
        [headersTimeout, firstByteTimeout, readTimeout, bodyTimeout, totalTimeout].compactMap { $0 }.max()
    }

    /// Whether some timer is set (a profile without any waits forever).
    public var hasTimer: Bool { longestTimer != nil }
}

/// Which of a profile's timers made the client give up.
public enum TimeoutRule: String, Sendable, Hashable, CaseIterable {
    /// The response head was not complete in time.
    case headers
    /// No byte of the response arrived in time.
    case firstByte = "first-byte"
    /// Silence between reads (or before the first) was too long.
    case read
    /// Silence between body reads was too long.
    case body
    /// The whole attempt took too long.
    case total
}
