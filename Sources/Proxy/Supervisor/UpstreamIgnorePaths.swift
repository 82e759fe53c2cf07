import Foundation

/// llama-swap's `upstream.ignorePaths` (`internal/config/upstream.go` at d4543ab7): regular expressions over the path
/// after `/upstream/<model>`; a match never starts or swaps in a model. With none configured, llama-swap's default
/// applies: static assets (`.js`, `.json`, `.css`, images, `.ico`, `.txt`). Patterns are compiled with Foundation's
/// `NSRegularExpression` (ICU), which reads RE2's syntax the same way for such patterns; the loader has checked each.
public enum UpstreamIgnorePaths {
    public static let defaultPattern = #".*\.(js|json|css|png|gif|jpg|jpeg|ico|txt)$"#

    /// Whether `path` matches one of `patterns` (llama-swap's default when `patterns` is empty), anywhere in it as
    /// Go's `MatchString` does.
    public static func matches(_ path: String, patterns: [String]) -> Bool {
        let range = NSRange(path.startIndex..., in: path)
        for pattern in patterns.isEmpty ? [defaultPattern] : patterns {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            if regex.firstMatch(in: path, range: range) != nil { return true }
        }
        return false
    }
}
