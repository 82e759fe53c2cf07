import Foundation

extension RequestContext {
    /// Builds the context from what the server read: method, the request target (path and optional query), headers
    /// and body. `model` and `stream` come from the JSON body when it is an object; `stream` also from
    /// `?stream=true`, `model` also from `?model=`. Garbage bodies just leave them unset.
    public init(method: String, uri: String, headers: [HeaderField], body: [UInt8]) {
        let path: String
        let query: String?
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = nil
        }
        let members = RequestBody.members(body)
        let parameters = Self.queryParameters(query)
        var model = members.flatMap { RequestBody.value("model", in: body, members: $0) as? String }
        if model == nil { model = parameters["model"] }
        var stream = members.flatMap { RequestBody.value("stream", in: body, members: $0) as? Bool } ?? false
        if !stream, let flag = parameters["stream"] { stream = flag == "true" || flag == "1" }
        self.init(
            method: method, path: path, query: query, headers: headers, body: body, model: model, stream: stream
        )
    }

    /// `name=value` pairs of a query string, percent-decoded; the first occurrence of a name wins.
    static func queryParameters(_ query: String?) -> [String: String] {
        guard let query else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let raw = parts.count > 1 ? String(parts[1]).replacingOccurrences(of: "+", with: " ") : ""
            if result[name] == nil { result[name] = raw.removingPercentEncoding ?? raw }
        }
        return result
    }

    /// The value of the first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }
}
