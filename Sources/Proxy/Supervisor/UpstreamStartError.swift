/// A failed start, thrown by `SupervisedUpstream.start`: the `UpstreamFailure` the waiting requests report.
///
/// A wrapper because `UpstreamFailure` is a plain value shared with the relay (it is not an `Error`).
public struct UpstreamStartError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What clients are told.
    public var failure: UpstreamFailure

    /// Wraps the failure to throw it.
    public init(_ failure: UpstreamFailure) {
        self.failure = failure
    }

    /// The message clients get.
    public var description: String { failure.openAIError.message }
}
