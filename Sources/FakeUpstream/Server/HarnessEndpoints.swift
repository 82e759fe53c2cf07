import Foundation
import Wire

/// The fake's own control endpoints under `/__harness/`, answered by the server itself and never journaled, so a
/// harness in another process can read the journal and release gates.
///
/// - `GET /__harness/journal`: the journal as JSON.
/// - `POST /__harness/gates/{name}`: releases the gate (percent-decoded name); 200.
/// - `GET /__harness/health`: 200 while the server runs.
enum HarnessEndpoints {
    static let prefix = "/__harness/"

    /// Whether the request is for the harness rather than the scenario.
    static func handles(path: String) -> Bool { path.hasPrefix(prefix) }

    /// Performs the request's effect (a gate release happens now) and returns the complete HTTP response.
    static func respond(to request: IncomingRequest, journal: Journal, gates: GateRegistry) -> [UInt8] {
        let route = request.path.dropFirst(prefix.count)
        let method = request.head.method.rawValue
        switch (method, route) {
        case ("GET", "journal"):
            do {
                return HTTPWire.response(status: 200, contentType: "application/json", body: Array(try journal.json()))
            } catch {
                return errorResponse(500, "could not encode the journal: \(error)")
            }
        case ("GET", "health"):
            return HTTPWire.response(status: 200, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8))
        case ("POST", let route) where route.hasPrefix("gates/") && route.count > "gates/".count:
            let raw = String(route.dropFirst("gates/".count))
            let name = raw.removingPercentEncoding ?? raw
            gates.release(name)
            let body = Array("{\"released\":\(JSONText.quote(name))}".utf8)
            return HTTPWire.response(status: 200, contentType: "application/json", body: body)
        case (_, "journal"), (_, "health"):
            return errorResponse(405, "\(method) is not allowed on \(request.path); \(usage)")
        default:
            return errorResponse(404, "no harness endpoint \(request.path); \(usage)")
        }
    }

    private static let usage = "use GET /__harness/journal, POST /__harness/gates/NAME or GET /__harness/health"

    private static func errorResponse(_ status: Int, _ message: String) -> [UInt8] {
        let error = OpenAIError(message: message, type: OpenAIError.type(forStatus: status), code: status)
        return HTTPWire.response(status: status, contentType: "application/json", body: Array(error.json.utf8))
    }
}
