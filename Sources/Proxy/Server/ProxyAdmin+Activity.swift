import NIOCore
import NIOHTTP1

/// The activity endpoints the web UI reads (the contract is in the session's coordination notes and the README):
///
/// - `GET /api/activity?limit=N`: recent relayed requests, newest first;
/// - `GET /api/activity/{id}/timeline`: one request's timeline (``RequestTimeline`` events and client deadlines);
/// - `GET /api/captures/{id}`: its capture as JSON, secrets redacted;
/// - `GET /api/captures/{id}/scenario`: the capture as a scenario file, as `harness record` writes them;
/// - `POST /api/models/load/{id}`: starts a model (`202`).
///
/// Behind `apiKeys` like every admin endpoint (the router checks before it gets here); errors are OpenAI envelopes.
enum ActivityEndpoint: Equatable {
    case list(limit: Int)
    case timeline(id: String)
    case capture(id: String)
    case scenario(id: String)
    case load(model: String)
    case methodNotAllowed(allowed: String)

    static let defaultLimit = 100

    /// The endpoint for a request, or `nil` when the path is not one of these.
    static func classify(method: HTTPMethod, path: String, query: String?) -> ActivityEndpoint? {
        func get(_ endpoint: ActivityEndpoint) -> ActivityEndpoint {
            method == .GET ? endpoint : .methodNotAllowed(allowed: "GET")
        }
        if path == "/api/activity" {
            let limit = RequestSniffer.parseQuery(query)["limit"].flatMap { Int($0) } ?? defaultLimit
            return get(.list(limit: max(0, limit)))
        }
        if let rest = suffix(of: path, after: "/api/activity/"), rest.hasSuffix("/timeline") {
            let id = String(rest.dropLast("/timeline".count))
            return id.isEmpty ? nil : get(.timeline(id: RequestSniffer.percentDecoded(id)))
        }
        if let rest = suffix(of: path, after: "/api/captures/") {
            if rest.hasSuffix("/scenario") {
                let id = String(rest.dropLast("/scenario".count))
                return id.isEmpty ? nil : get(.scenario(id: RequestSniffer.percentDecoded(id)))
            }
            return rest.isEmpty || rest.contains("/") ? nil : get(.capture(id: RequestSniffer.percentDecoded(rest)))
        }
        if let model = suffix(of: path, after: "/api/models/load/"), !model.isEmpty {
            guard method == .POST else { return .methodNotAllowed(allowed: "POST") }
            return .load(model: RequestSniffer.percentDecoded(model))
        }
        return nil
    }

    /// A bounded metrics label for these paths (their ids would make one label per request).
    static func metricsLabel(path: String) -> String? {
        for (prefix, label) in boundedPrefixes where path.hasPrefix(prefix) { return label }
        return nil
    }

    /// The paths with an id after a prefix, and their label (made once: this runs for every request).
    private static let boundedPrefixes = ["/api/activity/", "/api/captures/", "/api/models/load/"].map { ($0, $0 + "*") }

    private static func suffix(of path: String, after prefix: String) -> String? {
        path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : nil
    }
}

extension ProxyRouter {
    /// The answer of an activity endpoint.
    func activityDecision(_ endpoint: ActivityEndpoint, in snapshot: ConfigSnapshot) -> Decision {
        switch endpoint {
        case .list(let limit):
            let rows = activity.recent(limit: limit).map { $0.summaryJSON() }
            return .respond(.json(200, "{\"requests\":[" + rows.joined(separator: ",") + "]}"))
        case .timeline(let id):
            guard let request = activity.request(id: id) else { return .respond(Self.unknownRequest(id)) }
            return .respond(.json(200, request.timelineJSON(now: request.eventLoop.now)))
        case .capture(let id):
            guard let request = activity.request(id: id) else { return .respond(Self.unknownRequest(id)) }
            guard let json = request.captureJSON() else { return .respond(Self.noCapture(id)) }
            return .respond(.json(200, json))
        case .scenario(let id):
            guard let request = activity.request(id: id) else { return .respond(Self.unknownRequest(id)) }
            guard let yaml = request.scenarioYAML() else { return .respond(Self.noCapture(id)) }
            let safe = String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
            return .respond(
                SimpleResponse(
                    status: 200,
                    headers: [
                        ("Content-Type", "text/yaml; charset=utf-8"),
                        ("Content-Disposition", "attachment; filename=\"\(safe).yaml\""),
                    ],
                    body: yaml))
        case .load(let model):
            guard let modelConfig = snapshot.config.model(named: model) else {
                return .respond(.error(404, "model '\(model)' is not configured"))
            }
            let provider = self.provider
            let id = modelConfig.id
            // The load runs on its own: a lease taken and given back at once leaves the model running.
            Task {
                if let lease = try? await provider.acquire(model: id, pinned: snapshot, progress: { _ in }) {
                    lease.release()
                }
            }
            return .respond(.json(202, "{\"msg\":\"loading\",\"model\":\(ActivityJSON.string(id))}"))
        case .methodNotAllowed(let allowed):
            var response = SimpleResponse.error(405, "this endpoint accepts \(allowed)")
            response.headers.append(("Allow", allowed))
            return .respond(response)
        }
    }

    static func unknownRequest(_ id: String) -> SimpleResponse {
        .error(404, "no recent request with id '\(id)'")
    }

    static func noCapture(_ id: String) -> SimpleResponse {
        .error(404, "request '\(id)' has no capture (captures are off, or it was dropped to stay within the buffer)")
    }
}
