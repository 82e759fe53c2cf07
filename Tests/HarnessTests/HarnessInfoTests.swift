import Testing
import Harness

@Test func harnessVersionIsSet() {
    #expect(HarnessInfo.version.hasPrefix("0."))
}
