import Wire

/// A complete response the proxy writes itself (admin endpoints, errors found before any upstream is involved).
struct SimpleResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    static func json(_ status: Int, _ body: String) -> SimpleResponse {
        SimpleResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
    }

    static func text(_ status: Int, _ body: String) -> SimpleResponse {
        SimpleResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: body)
    }

    /// An error in the OpenAI envelope, which every OpenAI client can show.
    static func error(_ status: Int, _ message: String, type: String? = nil) -> SimpleResponse {
        let error = OpenAIError(message: message, type: type ?? OpenAIError.type(forStatus: status), code: status)
        return .json(status, error.json)
    }
}
