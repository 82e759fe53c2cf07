/// A failed start, thrown by `SupervisedUpstream.start`: the `UpstreamFailure` the waiting requests report.
///
/// A wrapper because `UpstreamFailure` is a plain value shared with the relay (it is not an `Error`).
public struct UpstreamStartError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What clients are told.
    public var failure: UpstreamFailure
    /// The error the start failed with (a command that could not run, a thrown error), if any; not part of
    /// equality, which compares what clients are told.
    public var underlying: (any Error)?

    /// Wraps the failure to throw it.
    public init(_ failure: UpstreamFailure, underlying: (any Error)? = nil) {
        self.failure = failure
        self.underlying = underlying
    }

    /// The message clients get.
    public var description: String { failure.openAIError.message }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.failure == rhs.failure }

    public func hash(into hasher: inout Hasher) { hasher.combine(failure) }
}
