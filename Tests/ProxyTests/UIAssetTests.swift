import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// The web UI at `/ui`, checked without a browser: every asset is served with its content type and the page's
/// Content-Security-Policy, without an API key; the page refers only to assets that exist; nothing points outside
/// the proxy's own origin; and every endpoint the scripts call is one the router serves (`ci/browser-test.sh` then
/// drives the page in headless Chromium).
@Suite struct UIAssetTests {
    static let keyed: ProxyConfig = {
        let upstream = UpstreamURL(host: "127.0.0.1", port: 9)
        return ProxyConfig(apiKeys: ["sk-ui"], models: ["m": ModelConfig(id: "m", command: nil, upstream: upstream)])
    }()

    static func request(_ method: HTTPMethod, _ uri: String) -> ProxyRequest {
        ProxyRequest(
            head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders()),
            body: ByteBuffer(), arrival: .now(), sniffed: nil)
    }

    /// What the router answers to `method uri` when the proxy has API keys and the request presents none.
    static func answer(_ method: HTTPMethod, _ uri: String) -> SimpleResponse? {
        let router = ProxyRouter(config: keyed, provider: FixedUpstreamProvider())
        guard case .respond(let response) = router.decide(request(method, uri)) else { return nil }
        return response
    }

    static func header(_ response: SimpleResponse, _ name: String) -> String? {
        response.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    static let scripts = UIAssets.all.filter { $0.contentType.hasPrefix("text/javascript") }

    // MARK: Serving

    @Test(arguments: UIAssets.all.map(\.path))
    func everyAssetIsServedWithItsTypeAndWithoutAKey(path: String) throws {
        let asset = try #require(UIAssets.all.first { $0.path == path })
        let response = try #require(Self.answer(.GET, path))
        #expect(response.status == 200)
        #expect(Self.header(response, "Content-Type") == asset.contentType)
        #expect(response.body == asset.body)
        #expect(!response.body.isEmpty)
        #expect(Self.header(response, "Content-Security-Policy") == UIRoutes.contentSecurityPolicy)
        #expect(Self.header(response, "X-Content-Type-Options") == "nosniff")
        let extensionTypes = [
            "html": "text/html", "css": "text/css", "js": "text/javascript", "svg": "image/svg+xml",
        ]
        let fileExtension = String(path.split(separator: ".").last ?? "")
        #expect(asset.contentType.hasPrefix(try #require(extensionTypes[fileExtension])))
    }

    @Test(arguments: ["/ui", "/ui/", "/ui/index.html", "/ui/models", "/ui/activity/some-id"])
    func thePageIsServedAtItsPathsAndAsTheSinglePageFallback(path: String) throws {
        let response = try #require(Self.answer(.GET, path))
        #expect(response.status == 200)
        #expect(response.body == UIPage.html)
        #expect(Self.header(response, "Content-Type") == "text/html; charset=utf-8")
    }

    @Test func rootRedirectsToTheUIAsLlamaSwapDoes() throws {
        let response = try #require(Self.answer(.GET, "/"))
        #expect(response.status == 302)
        #expect(Self.header(response, "Location") == "/ui")
    }

    @Test func unknownAssetsAndOtherMethods() throws {
        let missing = try #require(Self.answer(.GET, "/ui/missing.js"))
        #expect(missing.status == 404)
        #expect(missing.body.contains("\"error\""))
        #expect(ProxyRoute.classify(method: .POST, path: "/ui", query: nil) == .methodNotAllowed(allowed: "GET"))
        #expect(ProxyRoute.classify(method: .DELETE, path: "/", query: nil) == .methodNotAllowed(allowed: "GET"))
        // Only /ui and /ui/… are the UI's: a path that merely starts with the letters is not.
        #expect(ProxyRoute.classify(method: .GET, path: "/uix", query: nil) == .notFound)
    }

    @Test func settingsTellThePageWhetherToAskForAKey() throws {
        let keyed = try #require(Self.answer(.GET, UIRoutes.settingsPath))
        #expect(keyed.status == 200)
        #expect(keyed.body == "{\"apiKeyRequired\":true}")
        let open = UIRoutes.response(for: .settings, config: ProxyConfig(models: [:]))
        #expect(open.body == "{\"apiKeyRequired\":false}")
    }

    @Test func theAPIStillNeedsTheKey() throws {
        #expect(Self.answer(.GET, "/v1/models")?.status == 401)
        #expect(Self.answer(.GET, "/running")?.status == 401)
    }

    // MARK: What the page refers to

    /// Every `src=`/`href=` in the page that names a file is a served asset, and every asset is used by the page.
    @Test func thePageRefersOnlyToServedAssetsAndUsesThemAll() throws {
        let references = Set(UIPage.html.matches(of: try Regex(#"(?:src|href)="(/[^"]*)""#)).map {
            String($0.output[1].substring ?? "")
        })
        let served = Set(UIAssets.all.map(\.path)).subtracting([UIAssets.index.path])
        #expect(references == served)
        for reference in references { #expect(UIAssets.asset(at: reference) != nil, "\(reference)") }
    }

    /// No `http://` or `https://` anywhere in the UI: nothing is loaded from elsewhere and no link leaves the
    /// proxy. The one exception is the SVG namespace name, which names a namespace and is never fetched.
    @Test(arguments: UIAssets.all.map(\.path))
    func noURLOutsideTheProxy(path: String) throws {
        let asset = try #require(UIAssets.all.first { $0.path == path })
        let namespace = "http://www.w3.org/2000/svg"
        let urls = asset.body.matches(of: try Regex(#"(?i)https?://[^\s"'<>)]*"#)).map {
            String($0.output[0].substring ?? "")
        }
        #expect(urls.allSatisfy { $0 == namespace }, "\(path) refers to \(urls.filter { $0 != namespace })")
        #expect(!asset.body.contains("//cdn"), "\(path)")
        #expect(!asset.body.lowercased().contains("@import"), "\(path)")
    }

    /// The `API` table in `app.js`: endpoint name → method and path template.
    static func endpointTable() throws -> [(name: String, method: String, path: String)] {
        let app = UIScriptApp.js
        let begin = try #require(app.range(of: "// ENDPOINTS BEGIN"))
        let end = try #require(app.range(of: "// ENDPOINTS END"))
        let table = String(app[begin.upperBound..<end.lowerBound])
        return table.matches(of: try Regex(#"(\w+): \['(GET|POST)', '([^']+)'\]"#)).map {
            (
                String($0.output[1].substring ?? ""), String($0.output[2].substring ?? ""),
                String($0.output[3].substring ?? "")
            )
        }
    }

    /// Every endpoint the scripts call is served by the router for that method (not a 404, not a 405, not the
    /// UI's own fallback), with sample values in the placeholders.
    @Test func everyEndpointTheScriptsCallIsRouted() throws {
        let table = try Self.endpointTable()
        #expect(table.count >= 10)
        let samples = ["model": "m", "rid": "r-1", "limit": "5", "source": "proxy"]
        for entry in table {
            var uri = entry.path
            for (key, value) in samples { uri = uri.replacingOccurrences(of: "{\(key)}", with: value) }
            #expect(!uri.contains("{"), "\(entry.name): unknown placeholder in \(entry.path)")
            let parts = uri.split(separator: "?", maxSplits: 1).map(String.init)
            let route = ProxyRoute.classify(
                method: HTTPMethod(rawValue: entry.method), path: parts[0], query: parts.count > 1 ? parts[1] : nil)
            switch route {
            case .notFound, .methodNotAllowed, .ui(.asset), .ui(.redirectToUI):
                Issue.record("\(entry.name): \(entry.method) \(uri) is not served by the router (\(route))")
            default:
                break
            }
        }
    }

    /// Outside the table, no script names a path of its own: a string that starts with `/` and a letter would be an
    /// endpoint the test above never saw.
    @Test(arguments: scripts.map(\.path))
    func scriptsNameEndpointsOnlyInTheTable(path: String) throws {
        let script = try #require(UIAssets.all.first { $0.path == path }).body
        var outside = script
        if let begin = script.range(of: "// ENDPOINTS BEGIN"), let end = script.range(of: "// ENDPOINTS END") {
            outside.removeSubrange(begin.lowerBound..<end.upperBound)
        }
        let literals = outside.matches(of: try Regex(#"['"`]/[A-Za-z][^'"`]*['"`]"#)).map {
            String($0.output[0].substring ?? "")
        }
        #expect(literals.isEmpty, "\(path) names paths outside the API table: \(literals)")
        // Every call names an endpoint of the table.
        let names = Set(try Self.endpointTable().map(\.name))
        let called = script.matches(of: try Regex(#"UI\.(?:call|json)\('(\w+)'"#)).map {
            String($0.output[1].substring ?? "")
        }
        for name in called { #expect(names.contains(name), "\(path) calls unknown endpoint '\(name)'") }
    }

    /// Every element a script looks up by id exists in the page (a renamed id would fail only at run time).
    @Test(arguments: scripts.map(\.path))
    func everyElementIdTheScriptsUseIsInThePage(path: String) throws {
        let script = try #require(UIAssets.all.first { $0.path == path }).body
        let ids = Set(
            UIPage.html.matches(of: try Regex(#"\bid="([^"]+)""#)).map { String($0.output[1].substring ?? "") })
        let used = script.matches(of: try Regex(#"(?:getElementById|[^\w.]el)\('([^']+)'\)"#)).map {
            String($0.output[1].substring ?? "")
        }
        #expect(!used.isEmpty || path.hasSuffix("timeline.js"))
        for id in used { #expect(ids.contains(id), "\(path) uses #\(id), which the page lacks") }
        // Every view the router shows has its section.
        let views = script.matches(of: try Regex(#"UI\.views\.(\w+) ="#)).map { String($0.output[1].substring ?? "") }
        for view in views {
            #expect(ids.contains("view-\(view)"), "no section for view \(view)")
        }
    }
}
