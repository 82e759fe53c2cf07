/// One file of the web UI, compiled into the binary (no files to install, no build step, nothing fetched).
struct UIAsset: Sendable {
    /// Where it is served, e.g. `/ui/app.js`.
    var path: String
    var contentType: String
    var body: String
}

/// The web UI at `/ui`: one page, its stylesheet, three scripts and an icon, as Swift string literals. The page
/// loads nothing from elsewhere (no CDN, no fonts); its scripts talk only to this proxy's endpoints (listed once, in
/// `app.js`'s `API` table), so `UIAssetTests` can check every path against the router.
enum UIAssets {
    static let index = UIAsset(path: "/ui/index.html", contentType: "text/html; charset=utf-8", body: UIPage.html)
    static let all: [UIAsset] = [
        index,
        UIAsset(path: "/ui/app.css", contentType: "text/css; charset=utf-8", body: UIStyle.css),
        UIAsset(path: "/ui/app.js", contentType: "text/javascript; charset=utf-8", body: UIScriptApp.js),
        UIAsset(path: "/ui/timeline.js", contentType: "text/javascript; charset=utf-8", body: UIScriptTimeline.js),
        UIAsset(path: "/ui/views.js", contentType: "text/javascript; charset=utf-8", body: UIScriptViews.js),
        UIAsset(
            path: "/ui/playground.js", contentType: "text/javascript; charset=utf-8", body: UIScriptPlayground.js),
        UIAsset(path: "/ui/favicon.svg", contentType: "image/svg+xml", body: UIPage.favicon),
    ]

    private static let byPath = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })

    /// The asset served at `path` (`/ui`, `/ui/` and `/ui/index.html` are the page; so is any `/ui/…` path whose
    /// last segment has no extension, llama-swap's single-page fallback for links like `/ui/models`), or `nil`.
    static func asset(at path: String) -> UIAsset? {
        if path == "/ui" || path == "/ui/" { return index }
        if let asset = byPath[path] { return asset }
        let last = path.split(separator: "/").last ?? ""
        return last.contains(".") ? nil : index
    }
}
