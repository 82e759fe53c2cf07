import NIOCore
import Testing

@testable import Proxy

/// llama-swap's form filter: a multipart body's `model` field is renamed (useModelName, a selector's or pin's target,
/// a peer's own id) and every other byte is forwarded as sent.
@Suite struct MultipartModelEditTests {
    static func form(_ parts: [String], boundary: String = "XyZ") -> [UInt8] {
        Array((parts.joined(separator: "\r\n")).utf8)
    }

    static let audio = "RIFF\u{0}\u{1}model\r\n--Xy binary, not the boundary"

    @Test(arguments: [
        // The model after the file part, as OpenAI's client sends it.
        (
            ["--XyZ", "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"", "Content-Type: audio/wav", "",
             audio, "--XyZ", "Content-Disposition: form-data; name=\"model\"", "", "whisper", "--XyZ--", ""],
            ["--XyZ", "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"", "Content-Type: audio/wav", "",
             audio, "--XyZ", "Content-Disposition: form-data; name=\"model\"", "", "Systran/faster-whisper-large-v3",
             "--XyZ--", ""]
        ),
        // The model first, other fields after it; a file whose name is "model" is not the field.
        (
            ["--XyZ", "content-disposition: form-data; name=\"model\"", "", "w", "--XyZ",
             "Content-Disposition: form-data; name=\"model\"; filename=\"model\"", "", audio, "--XyZ",
             "Content-Disposition: form-data; name=\"language\"", "", "de", "--XyZ--", ""],
            ["--XyZ", "content-disposition: form-data; name=\"model\"", "", "Systran/faster-whisper-large-v3", "--XyZ",
             "Content-Disposition: form-data; name=\"model\"; filename=\"model\"", "", audio, "--XyZ",
             "Content-Disposition: form-data; name=\"language\"", "", "de", "--XyZ--", ""]
        ),
    ])
    func renamesOnlyTheModelField(parts: [String], expected: [String]) throws {
        let edit = try #require(
            MultipartModelEdit(contentType: "multipart/form-data; boundary=\"XyZ\"", model: "Systran/faster-whisper-large-v3"))
        let rewritten = try #require(edit.apply(to: Self.form(parts)))
        #expect(rewritten == Self.form(expected))
    }

    @Test(arguments: [
        // No model field: forwarded as it came.
        ["--XyZ", "Content-Disposition: form-data; name=\"file\"; filename=\"model\"", "", "x", "--XyZ--", ""],
        // The model field already says the name.
        ["--XyZ", "Content-Disposition: form-data; name=\"model\"", "", "n", "--XyZ--", ""],
        // Cut off before the model field's end.
        ["--XyZ", "Content-Disposition: form-data; name=\"model\"", "", "whisp"],
        [""],
    ])
    func leavesTheBodyAloneWithoutAFieldToChange(parts: [String]) throws {
        let edit = try #require(MultipartModelEdit(contentType: "multipart/form-data; boundary=XyZ", model: "n"))
        #expect(edit.apply(to: Self.form(parts)) == nil)
    }

    @Test(arguments: ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", nil] as [String?])
    func onlyMultipartBodiesWithABoundary(contentType: String?) {
        #expect(MultipartModelEdit(contentType: contentType, model: "n") == nil)
    }

    /// The pieces sent upstream are slices of the received buffer (same storage, no copy) around the new value.
    @Test func piecesAreSlicesOfTheBody() throws {
        var body = ByteBuffer(string: "....--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nw\r\n--b--\r\n")
        body.moveReaderIndex(forwardBy: 4)
        let edit = try #require(MultipartModelEdit(contentType: "multipart/form-data; boundary=b", model: "real"))
        let pieces = try #require(edit.apply(to: body))
        #expect(pieces.map { String(buffer: $0) } == [
            "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n", "real", "\r\n--b--\r\n",
        ])
        body.withUnsafeReadableBytes { original in
            pieces[0].withUnsafeReadableBytes { #expect($0.baseAddress == original.baseAddress) }
            pieces[2].withUnsafeReadableBytes { #expect($0.baseAddress == original.baseAddress! + 54) }
        }
    }
}
