import NIOHTTP1

/// The web UI's routes: `/ui` and its assets (``UIAssets``, compiled into the binary), `GET /` redirected to `/ui`
/// and `GET /upstream` to the models view, as llama-swap does. The pages hold no secret and load nothing from
/// elsewhere, so they are served without an API key: the page asks for the key once and sends it as `Bearer` on every
/// API call. (llama-swap puts its UI behind the key and lets the browser ask with HTTP Basic auth; a difference on
/// purpose, in docs/config-compat.md.)
enum UIRoutes {
    /// What a UI request asks for.
    enum Request: Equatable, Sendable {
        /// `GET /`: `302` to `/ui` (llama-swap's redirect).
        case redirectToUI
        /// `GET /upstream`: `302` to the models view (llama-swap sends it to `/ui/models`; our views are in the hash).
        case redirectToModels
        /// `GET /ui/settings.json`: what the page needs to know before its first API call
        /// (`{"apiKeyRequired":true}`), so it asks for the key instead of collecting a `401` first.
        case settings
        /// `GET /ui…`: the asset at that path, or the page itself for a path with no extension (llama-swap's
        /// single-page fallback); a `404` when nothing is there.
        case asset(String)
    }

    /// The route for `path`, or `nil` when it is not the UI's.
    static func classify(method: HTTPMethod, path: String) -> ProxyRoute? {
        let request: Request
        if path == "/" {
            request = .redirectToUI
        } else if path == "/upstream" {
            request = .redirectToModels
        } else if path == settingsPath {
            request = .settings
        } else if path == "/ui" || path.hasPrefix("/ui/") {
            request = .asset(path)
        } else {
            return nil
        }
        return method == .GET ? .ui(request) : .methodNotAllowed(allowed: "GET")
    }

    static let settingsPath = "/ui/settings.json"

    static func response(for request: Request, config: ProxyConfig) -> SimpleResponse {
        switch request {
        case .redirectToUI:
            var response = SimpleResponse.text(302, "")
            response.headers.append(("Location", "/ui"))
            return response
        case .redirectToModels:
            var response = SimpleResponse.text(302, "")
            response.headers.append(("Location", "/ui/#/models"))
            return response
        case .settings:
            var response = SimpleResponse.json(200, "{\"apiKeyRequired\":\(!config.apiKeys.isEmpty)}")
            response.headers += securityHeaders
            return response
        case .asset(let path):
            guard let asset = UIAssets.asset(at: path) else {
                return .error(404, "no UI asset at \(path)")
            }
            var headers = [("Content-Type", asset.contentType)]
            headers += securityHeaders
            return SimpleResponse(status: 200, headers: headers, body: asset.body)
        }
    }

    /// The page may run only its own scripts and styles and talk only to this proxy: a test of the page (and any
    /// browser) reports a console error if anything tries to load from elsewhere.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let securityHeaders = [
        ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-cache"), ("Referrer-Policy", "no-referrer"),
    ]
}

extension ProxyRoute {
    /// The UI's routes are served without an API key (the page itself asks for it).
    var isUI: Bool {
        if case .ui = self { return true }
        return false
    }
}
