import Foundation
import NIOConcurrencyHelpers

/// llama-swap's `upstream.ignorePaths` (`internal/config/upstream.go` at d4543ab7): regular expressions over the path
/// after `/upstream/<model>`; a match never starts or swaps in a model. With none configured, llama-swap's default
/// applies: static assets (`.js`, `.json`, `.css`, images, `.ico`, `.txt`). Patterns are compiled with Foundation's
/// `NSRegularExpression` (ICU), which reads RE2's syntax the same way for such patterns; the loader has checked each.
public enum UpstreamIgnorePaths {
    public static let defaultPattern = #".*\.(js|json|css|png|gif|jpg|jpeg|ico|txt)$"#

    /// Compiled patterns by source. Compiling is most of the cost of a match (ICU builds the matcher: about 3 % of a
    /// small pass-through request's CPU when it was done per request); the config's patterns are few and fixed until
    /// a reload, and `NSRegularExpression` is immutable and safe to share between threads once made.
    private static let compiled = NIOLockedValueBox<[String: CompiledPattern]>([:])

    /// A compiled pattern, or the fact that it does not compile (the loader reports that; matching skips it).
    /// `@unchecked Sendable`: `NSRegularExpression` is an immutable class documented as thread-safe, and this box
    /// never changes after its creation.
    private struct CompiledPattern: @unchecked Sendable {
        let regex: NSRegularExpression?
    }

    /// Whether `path` matches one of `patterns` (llama-swap's default when `patterns` is empty), anywhere in it as
    /// Go's `MatchString` does.
    public static func matches(_ path: String, patterns: [String]) -> Bool {
        let range = NSRange(path.startIndex..., in: path)
        for pattern in patterns.isEmpty ? [defaultPattern] : patterns {
            guard let regex = regex(for: pattern) else { continue }
            if regex.firstMatch(in: path, range: range) != nil { return true }
        }
        return false
    }

    private static func regex(for pattern: String) -> NSRegularExpression? {
        if let known = compiled.withLockedValue({ $0[pattern] }) { return known.regex }
        let made = CompiledPattern(regex: try? NSRegularExpression(pattern: pattern))
        compiled.withLockedValue { cache in
            // Patterns come from configs only; a bound keeps a long run of reloads from growing it without end.
            if cache.count >= 256 { cache.removeAll() }
            cache[pattern] = made
        }
        return made.regex
    }
}
