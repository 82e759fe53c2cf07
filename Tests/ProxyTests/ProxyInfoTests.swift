import Testing
import Proxy

@Test func versionIsSet() {
    #expect(!ProxyInfo.version.isEmpty)
}
