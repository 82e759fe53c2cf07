/// What the proxy accepts from a client connection before it gives up on it: sizes of the request head and body,
/// and how long it waits for the client's bytes.
///
/// Read from the top level of `config.yaml` (`maxRequestBodySize`, `maxHeaderCount`, `maxHeaderBytes`,
/// `maxHeaderLineBytes`, `clientIdleTimeout`, `clientHeaderTimeout`, `clientBodyTimeout`). A connection takes the
/// values in force when it is accepted (a SIGHUP applies to new connections).
///
/// The three timeouts bound only the time the proxy waits for the CLIENT while no response is under way: they never
/// cut a response, however long (a heartbeat-kept stream can last hours). See ``ClientTimeouts``.
public struct ClientLimits: Sendable, Hashable {
    /// Largest request body, in bytes. A larger declared `Content-Length` is refused at the head with `413`; a
    /// chunked body is refused with `413` when it crosses the limit. Then the connection closes.
    public var maxRequestBodySize: Int
    /// Most header fields in one request head (`431`, then close).
    public var maxHeaderCount: Int
    /// Most bytes in one request head: the request target and every header name and value (`431`, then close).
    public var maxHeaderBytes: Int
    /// Most bytes in the request target, and in any one header name or value (`431`, then close).
    /// NIO's decoder applies one limit to both and reports both the same way, so they share one key.
    public var maxHeaderLineBytes: Int
    /// Longest wait for the first byte of a request on an open connection with no response under way (a new
    /// connection, or between keep-alive requests); the connection is then closed without an answer. `nil`: off.
    public var idleTimeout: Duration?
    /// Longest time from the first byte of a request to the end of its head (`408`, then close): slowloris clients
    /// that send a header byte a second are cut off here. `nil`: off.
    public var headerTimeout: Duration?
    /// Longest silence while a request body is arriving (`408`, then close). `nil`: off.
    public var bodyTimeout: Duration?

    public init(
        maxRequestBodySize: Int = ClientLimits.defaultMaxRequestBodySize,
        maxHeaderCount: Int = ClientLimits.defaultMaxHeaderCount,
        maxHeaderBytes: Int = ClientLimits.defaultMaxHeaderBytes,
        maxHeaderLineBytes: Int = ClientLimits.defaultMaxHeaderLineBytes,
        idleTimeout: Duration? = ClientLimits.defaultIdleTimeout,
        headerTimeout: Duration? = ClientLimits.defaultHeaderTimeout,
        bodyTimeout: Duration? = ClientLimits.defaultBodyTimeout
    ) {
        self.maxRequestBodySize = maxRequestBodySize
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderLineBytes = maxHeaderLineBytes
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// 256 MiB: far above any chat or embedding request (a 128k-token prompt is under 1 MiB of JSON; a long audio
    /// upload a few tens of MiB), small enough that one client cannot make the proxy hold gigabytes.
    public static let defaultMaxRequestBodySize = 256 * 1024 * 1024
    /// 100: browsers and SDKs send 10–30; Node's and Go's servers allow about as many.
    public static let defaultMaxHeaderCount = 100
    /// 64 KiB for the whole head: Node's `maxHeaderSize` is 16 KiB, nginx's default 4 × 8 KiB.
    public static let defaultMaxHeaderBytes = 64 * 1024
    /// 16 KiB per request target or header field: room for long bearer tokens and query strings (nginx: 8 KiB).
    public static let defaultMaxHeaderLineBytes = 16 * 1024
    /// 75 s between requests: longer than the 60 s idle timeouts of AWS ALB and of nginx's upstream keep-alive, so
    /// the proxy is never the side that closes a pooled connection a front proxy is about to reuse (nginx's own
    /// `keepalive_timeout` default is 75 s for the same reason).
    public static let defaultIdleTimeout: Duration? = .seconds(75)
    /// 30 s from a request's first byte to the end of its head: a real client sends its head in one write.
    public static let defaultHeaderTimeout: Duration? = .seconds(30)
    /// 60 s of silence inside a request body: a client uploading anything sends far more often.
    public static let defaultBodyTimeout: Duration? = .seconds(60)
}
