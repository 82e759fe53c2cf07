import Foundation
import Testing

@Test func harnessExecutableIsBuiltBesideTheTests() {
    let path = BuiltProducts.path(of: "harness")
    #expect(FileManager.default.isExecutableFile(atPath: path), "no executable at \(path)")
}
