import Proxy

print("llama-proxy \(ProxyInfo.version): the proxy is not implemented yet")
