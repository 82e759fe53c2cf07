import Foundation

/// Finds executables this package built (`harness`, `llama-proxy`) next to the running test bundle, so integration
/// tests run the same binaries whatever scratch path (`.build`, `.build-tsan`) the build used.
enum BuiltProducts {
    /// The directory holding the test bundle and the package's executables.
    static var directory: URL {
        let bundle = Bundle.main.bundleURL
        var candidate = bundle
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("harness").path) {
                return candidate
            }
            candidate = candidate.deletingLastPathComponent()
        }
        return bundle.deletingLastPathComponent()
    }

    /// Path of a built executable product.
    static func path(of product: String) -> String {
        directory.appendingPathComponent(product).path
    }
}
