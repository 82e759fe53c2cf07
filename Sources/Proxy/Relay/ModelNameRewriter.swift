import NIOCore
import Wire

/// Rewrites the `model` field of a JSON request body for `useModelName`: the upstream expects its own name for the
/// model, not the id the client used.
///
/// Only the bytes of the `model` value change (``JSONBodyEditor``): key order, whitespace, number spelling and
/// escapes elsewhere reach the upstream as the client sent them.
enum ModelNameRewriter {
    /// The body with its top-level `model` set to `name` (every occurrence; added at the end when absent), as the
    /// pieces to send in order: slices of `body` itself (no copy) around the new value. `nil` when the body is not
    /// one valid JSON object: it is then forwarded as it came.
    static func rewrite(_ body: ByteBuffer, to name: String) -> [ByteBuffer]? {
        body.withUnsafeReadableBytes { bytes -> [ByteBuffer]? in
            guard let plan = try? JSONBodyEditor.plan([.set(key: "model", string: name)], for: bytes) else {
                return nil
            }
            return plan.segments.map { segment in
                switch segment {
                case .original(let range):
                    body.getSlice(at: body.readerIndex + range.lowerBound, length: range.count)!
                case .inserted(let bytes):
                    ByteBuffer(bytes: bytes)
                }
            }
        }
    }

    /// ``rewrite(_:to:)`` joined into one array (tests).
    static func rewrite(_ body: [UInt8], to name: String) -> [UInt8]? {
        rewrite(ByteBuffer(bytes: body), to: name).map { $0.reduce(into: []) { $0 += $1.readableBytesView } }
    }
}
