import Logging
import Testing

@testable import Proxy

#if canImport(Glibc)
    import Glibc

    /// Whether ThreadSanitizer's (or AddressSanitizer's) runtime is linked into this process.
    enum SanitizerRuntime {
        static let isLinked =
            dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil
            || dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
    }

    /// glibc keeps a freed large block resident once its dynamic mmap threshold has risen past the block's size;
    /// ``LargeAllocations`` fixes the threshold so a request body's memory goes back when the body ends. Each case
    /// runs in a child process (the allocator's settings are per process). Not under a sanitizer: ThreadSanitizer
    /// replaces `malloc` with its own allocator, which has neither glibc's threshold nor its behaviour.
    @Suite(.enabled(if: !SanitizerRuntime.isLinked, "glibc's allocator is replaced by the sanitizer's"))
    struct LargeAllocationsTests {
        /// Resident memory of this process, in KiB.
        static func residentKiB() -> Int {
            guard let file = fopen("/proc/self/status", "r") else { return -1 }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 256)
            while fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasPrefix("VmRSS:") {
                    return Int(text.dropFirst(6).filter { $0.isNumber }) ?? -1
                }
            }
            return -1
        }

        /// Allocates, touches and frees an 8 MiB block three times (a body of that size, three requests) and returns
        /// how much resident memory grew, in KiB.
        static func growthAfterThreeBodies() -> Int {
            let size = 8 << 20
            let before = residentKiB()
            for _ in 0..<3 {
                guard let block = malloc(size) else { return -1 }
                memset(block, 1, size)
                free(block)
            }
            return residentKiB() - before
        }

        @Test func freedBodiesGoBackToTheSystem() async {
            await #expect(processExitsWith: .success) {
                guard LargeAllocations.returnToSystemWhenFreed(logger: Logger(label: "test")) else { exit(2) }
                exit(LargeAllocationsTests.growthAfterThreeBodies() < 2048 ? 0 : 3)
            }
        }

        /// Without it, the second and third blocks come from the heap and stay resident: what the fix is for.
        @Test func withoutItTheyStay() async {
            await #expect(processExitsWith: .success) {
                exit(LargeAllocationsTests.growthAfterThreeBodies() >= 6144 ? 0 : 3)
            }
        }
    }
#endif
