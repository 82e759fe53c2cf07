import NIOCore

/// llama-swap's model rename for multipart form bodies (`/v1/audio/transcriptions`, `/v1/images/edits`): the value of
/// the form's `model` field becomes the name the upstream should hear — the model's `useModelName`, a selector's or a
/// profile pin's target, or a peer's own id — exactly where JSON bodies get ``RequestBodyEdits``.
///
/// Why: a whisper server behind the proxy (speaches, vLLM) checks the `model` it is sent; without the rename it
/// refused what llama-swap forwards renamed. As in llama-swap, only `model` changes: `filters` are for JSON bodies.
/// Unlike llama-swap, which rebuilds the whole form, the edit is a splice: the bytes before and after the value are
/// slices of the received buffer (an audio file is never copied), and every other part reaches the upstream as sent.
struct MultipartModelEdit: Sendable, Hashable {
    var boundary: String
    var model: String

    /// The edit for a body of `contentType` that should name `model`; `nil` when the body is not a multipart form.
    init?(contentType: String?, model: String) {
        guard let boundary = RequestSniffer.multipartBoundary(contentType) else { return nil }
        self.boundary = boundary
        self.model = model
    }

    /// The body with its `model` field's value replaced, as the pieces to send in order; `nil` when the form has no
    /// complete `model` field (it is then forwarded as it came) or it already says `model`.
    func apply(to body: ByteBuffer) -> [ByteBuffer]? {
        let value = body.withUnsafeReadableBytes { bytes -> Range<Int>? in
            guard let range = RequestSniffer.multipartFieldRange(named: "model", in: bytes, boundary: boundary),
                !bytes[range].elementsEqual(model.utf8)
            else { return nil }
            return range
        }
        guard let value else { return nil }
        let start = body.readerIndex
        return [
            body.getSlice(at: start, length: value.lowerBound)!,
            ByteBuffer(string: model),
            body.getSlice(at: start + value.upperBound, length: body.readableBytes - value.upperBound)!,
        ]
    }

    /// ``apply(to:)`` joined into one array (tests).
    func apply(to body: [UInt8]) -> [UInt8]? {
        apply(to: ByteBuffer(bytes: body)).map { $0.reduce(into: []) { $0 += $1.readableBytesView } }
    }
}
