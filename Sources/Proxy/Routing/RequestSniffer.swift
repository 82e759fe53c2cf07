import Foundation
import NIOCore
import Wire

/// Reads what routing needs from a request without trusting its `Content-Type`: the model id and whether the
/// client asked for a stream.
///
/// llama-swap reads the body's `model` only when the request says it is JSON, and users trip over clients that send
/// JSON as `text/plain`; we look at the bytes instead. Order: JSON body `model`, multipart or url-encoded form field
/// `model`, then the `?model=` query parameter. `stream` comes from the JSON body or `?stream=true`.
public enum RequestSniffer {
    /// What the request says about routing.
    public struct Result: Sendable, Hashable {
        /// The requested model id, if any.
        public var model: String?
        /// True when the client asked for a streamed (SSE) response.
        public var stream: Bool
        /// True when the body looked like JSON (starts with `{` after whitespace) but did not parse.
        public var malformedJSON: Bool
    }

    /// Sniffs `body` (as received), the request's `Content-Type` (for the multipart boundary) and its query string.
    ///
    /// A JSON body is read by ``JSONTopLevelScanner`` in place: top-level keys only, up to the later of `model` and
    /// `stream` (to the end when one is absent), nothing decoded but those two values. Invalid JSON in the part it
    /// reads is `malformedJSON`; bytes after both keys are the upstream's to judge (llama-swap does not read them
    /// either). With duplicate keys the first wins, as in llama-swap.
    public static func sniff(body: UnsafeRawBufferPointer, contentType: String?, query: String?) -> Result {
        let queryItems = parseQuery(query)
        var result = Result(model: nil, stream: queryItems["stream"].map(isTrue) ?? false, malformedJSON: false)

        if looksLikeJSONObject(body) {
            do {
                let object = try JSONTopLevelScanner.scan(body, stopAfter: ["model", "stream"])
                if let model = object.first("model", in: body), model.kind == .string {
                    result.model = try JSONTopLevelScanner.decodeString(body, in: model.valueRange)
                }
                if let stream = object.first("stream", in: body).flatMap({
                    JSONTopLevelScanner.decodeBool(body, in: $0.valueRange)
                }) {
                    result.stream = stream
                }
            } catch {
                result.model = nil
                result.malformedJSON = true
            }
        } else if let boundary = multipartBoundary(contentType) {
            result.model = multipartField(named: "model", in: body, boundary: boundary)
        } else if isURLEncodedForm(contentType) {
            // `model=…&stream=…` in the body, decoded as a query string is.
            let fields = parseQuery(String(decoding: body, as: UTF8.self))
            result.model = fields["model"].flatMap { $0.isEmpty ? nil : $0 }
            if let stream = fields["stream"] { result.stream = isTrue(stream) }
        }
        if result.model == nil, let model = queryItems["model"], !model.isEmpty { result.model = model }
        return result
    }

    /// ``sniff(body:contentType:query:)`` over the request's one body buffer, without copying it.
    static func sniff(body: ByteBuffer, contentType: String?, query: String?) -> Result {
        body.withUnsafeReadableBytes { sniff(body: $0, contentType: contentType, query: query) }
    }

    /// ``sniff(body:contentType:query:)`` over an array (tests).
    public static func sniff(body: [UInt8], contentType: String?, query: String?) -> Result {
        body.withUnsafeBytes { sniff(body: $0, contentType: contentType, query: query) }
    }

    static func looksLikeJSONObject(_ body: UnsafeRawBufferPointer) -> Bool {
        body.first { !(($0 == 0x20) || ($0 == 0x09) || ($0 == 0x0A) || ($0 == 0x0D)) } == UInt8(ascii: "{")
    }

    static func isTrue(_ value: String) -> Bool {
        ["true", "1", "yes"].contains(value.lowercased())
    }

    static func parseQuery(_ query: String?) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0]))
            let value = parts.count > 1 ? decode(String(parts[1])) : ""
            if items[name] == nil { items[name] = value }
        }
        return items
    }

    private static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }

    /// A path segment with `%XX` escapes decoded (`+` stays `+`, as in a path); the text as is when malformed.
    static func percentDecoded(_ text: String) -> String {
        // A byte search: `contains("%")` resolves to Foundation's substring search, 1 % of a small request's CPU.
        text.utf8.contains(UInt8(ascii: "%")) ? (text.removingPercentEncoding ?? text) : text
    }

    /// `application/x-www-form-urlencoded`, with or without parameters.
    static func isURLEncodedForm(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/x-www-form-urlencoded"
    }

    static func multipartBoundary(_ contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else {
                continue
            }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// The value of a simple (non-file) multipart field, as UTF-8 text.
    static func multipartField(named name: String, in body: UnsafeRawBufferPointer, boundary: String) -> String? {
        multipartFieldRange(named: name, in: body, boundary: boundary).map {
            String(decoding: UnsafeRawBufferPointer(rebasing: body[$0]), as: UTF8.self)
        }
    }

    /// Where the value of the first simple (non-file) multipart field called `name` lies in `body`: the bytes
    /// between its part's blank line and the CRLF before the next delimiter. One pass, no copy of the body; `nil` when
    /// no such field is complete in `body`.
    static func multipartFieldRange(named name: String, in body: UnsafeRawBufferPointer, boundary: String) -> Range<Int>? {
        let delimiter = Array("--\(boundary)".utf8)
        let headerEnd = Array("\r\n\r\n".utf8)
        var searchFrom = 0
        while let partStart = find(delimiter, in: body, from: searchFrom) {
            let afterDelimiter = partStart + delimiter.count
            guard let headersEnd = find(headerEnd, in: body, from: afterDelimiter) else { return nil }
            let headers = String(decoding: UnsafeRawBufferPointer(rebasing: body[afterDelimiter..<headersEnd]), as: UTF8.self).lowercased()
            let contentStart = headersEnd + headerEnd.count
            guard let nextDelimiter = find(delimiter, in: body, from: contentStart) else { return nil }
            if headers.contains("content-disposition"), headers.contains("name=\"\(name.lowercased())\""),
                !headers.contains("filename=")
            {
                var contentEnd = nextDelimiter
                if contentEnd >= contentStart + 2, body[contentEnd - 2] == 0x0D, body[contentEnd - 1] == 0x0A {
                    contentEnd -= 2
                }
                return contentStart..<contentEnd
            }
            searchFrom = nextDelimiter
        }
        return nil
    }

    /// The first offset at or after `start` where `needle` occurs in `haystack`; no allocation per candidate.
    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else {
            return nil
        }
        let first = needle[0]
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == first {
                var offset = 1
                while offset < needle.count, haystack[index + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return index }
            }
            index += 1
        }
        return nil
    }
}
