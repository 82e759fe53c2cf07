/// The bytes of one heartbeat: an SSE comment line and a blank line, a comment-only event that every SSE parser
/// ignores but that resets every read timeout between the client and the proxy.
///
/// The line ending is `\n\n`, valid whatever the upstream uses (SSE allows mixed line endings), except right after
/// an upstream CR that may still be followed by its LF: there the heartbeat ends in `\r\r`, so that LF completes
/// our CRLF instead of forming an extra blank line (see ``SSEBoundaryTracker``).
public struct SSEHeartbeat: Sendable, Hashable {
    /// Why a comment text cannot be used.
    public struct InvalidComment: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// The comment text, without the leading `:`.
    public let comment: String
    /// `: comment\n\n`: the heartbeat at a boundary ended by LF or CRLF, and before any upstream byte.
    public let lineFeedBytes: [UInt8]
    /// `: comment\r\r`: the heartbeat right after a blank line ended by a CR that an LF may still follow.
    public let carriageReturnBytes: [UInt8]

    /// The default comment. Not `ping`, which at least one client treats specially.
    public static let defaultComment = "keepalive"

    /// The heartbeat with the default comment, `: keepalive`, for code that needs no configured text.
    public static let keepalive = SSEHeartbeat(validComment: defaultComment)

    /// A heartbeat with `comment` as its text. Refuses a CR or LF, which would end the comment line early and turn
    /// the rest into a field; an empty comment gives `:\n\n`.
    public init(comment: String = SSEHeartbeat.defaultComment) throws(InvalidComment) {
        if comment.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            throw InvalidComment(
                description: "heartbeatComment must be one line of text without CR or LF, "
                    + "got \(JSONText.quote(comment))"
            )
        }
        self.init(validComment: comment)
    }

    private init(validComment comment: String) {
        self.comment = comment
        let line = Array((comment.isEmpty ? ":" : ": " + comment).utf8)
        self.lineFeedBytes = line + [0x0A, 0x0A]
        self.carriageReturnBytes = line + [0x0D, 0x0D]
    }

    /// The heartbeat bytes to write where `tracker` stands; `nil` inside an event, where no heartbeat may go.
    public func bytes(after tracker: SSEBoundaryTracker) -> [UInt8]? {
        switch tracker.position {
        case .betweenEvents: lineFeedBytes
        case .betweenEventsAfterCarriageReturn: carriageReturnBytes
        case .insideEvent: nil
        }
    }
}
