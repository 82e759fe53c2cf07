/// One scenario file the recorder wrote, or failed to write.
public struct RecordedFile: Sendable {
    /// Path of the file (also when writing failed).
    public var path: String
    /// What the file holds.
    public var exchange: RecordedExchange
    /// Why the file could not be written, in words a user can act on; nil on success.
    public var failure: String?

    /// A file written (or not, with `failure`) for `exchange`.
    public init(path: String, exchange: RecordedExchange, failure: String? = nil) {
        self.path = path
        self.exchange = exchange
        self.failure = failure
    }
}
