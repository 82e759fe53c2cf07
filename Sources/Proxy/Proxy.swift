/// The production proxy (issue: proxy core). This namespace exists so that the package's layout is final from the
/// start; the proxy's types arrive with the proxy issue.
public enum ProxyInfo {
    /// Shown by `llama-proxy --version`.
    public static let version = "0.1.0-dev"
}
