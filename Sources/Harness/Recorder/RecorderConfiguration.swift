import Proxy

/// What `Recorder` records from where, and where the files go.
public struct RecorderConfiguration: Sendable {
    /// The server being recorded (a real llama-server, or anything that speaks HTTP/1.1).
    public var upstream: UpstreamURL
    /// Address to listen on; loopback by default, because the recorder forwards secrets.
    public var listenHost: String
    /// Port to listen on; 0 picks a free one (`Recorder.start` returns it).
    public var listenPort: Int
    /// Directory for the scenario files; created when missing.
    public var outputDirectory: String
    /// After a response completes, how long to wait for the upstream to close before deciding it kept the
    /// connection (`end: clean`). llama-server closes within a millisecond after a stream.
    public var closeGrace: Duration
    /// Called once per file written (from a background task), e.g. to print its path or to let a test proceed.
    public var onRecorded: (@Sendable (RecordedFile) -> Void)?

    /// Records `upstream` into `outputDirectory`; listens on loopback, on a free port, unless told otherwise.
    public init(
        upstream: UpstreamURL,
        listenHost: String = "127.0.0.1",
        listenPort: Int = 0,
        outputDirectory: String,
        closeGrace: Duration = .milliseconds(250),
        onRecorded: (@Sendable (RecordedFile) -> Void)? = nil
    ) {
        self.upstream = upstream
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.outputDirectory = outputDirectory
        self.closeGrace = closeGrace
        self.onRecorded = onRecorded
    }
}
