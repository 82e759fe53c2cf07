import Testing

@testable import Proxy

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct OpenFileLimitTests {
    static let infinity = UInt64.max

    @Test(arguments: [
        (1024, 20_000, 20_000 as UInt64?),
        (20_000, 20_000, nil),
        (1024, infinity, 1_048_576),
        (1_048_576, infinity, nil),
        (4096, 1024, nil),
    ] as [(UInt64, UInt64, UInt64?)])
    func target(soft: UInt64, hard: UInt64, expected: UInt64?) {
        #expect(OpenFileLimit.target(soft: soft, hard: hard, unlimited: Self.infinity, ceiling: 1_048_576) == expected)
    }

    /// In a child process (the limit is per process): lower the soft limit, raise it, and find it at the hard limit.
    @Test func raisesALoweredSoftLimit() async {
        await #expect(processExitsWith: .success) {
            let hard = OpenFileLimit.current().hard
            guard hard > 256, OpenFileLimit.setSoft(256), OpenFileLimit.current().soft == 256 else { exit(2) }
            let outcome = OpenFileLimit.raiseToHardLimit()
            let now = OpenFileLimit.current()
            guard case .raised(from: 256, let to) = outcome, now.soft == to, to > 256 else { exit(3) }
            guard OpenFileLimit.raiseToHardLimit() == .unchanged(now.soft) else { exit(4) }
            exit(0)
        }
    }
}
