import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Makes request bodies' memory go back to the system when they end (glibc only).
///
/// Why: glibc serves an allocation of at least its mmap threshold (128 KiB at start) with its own `mmap`, returned
/// at `free`; but the threshold is dynamic — each such block freed raises it to that block's size, up to 32 MiB —
/// after which bodies of that size come from the heaps of the threads that allocated them and stay resident when
/// freed. Measured: eight 8 MiB bodies one after another left the proxy's RSS 34 MB higher (33.7 → 67.1 MB) once
/// they had all ended. A fixed threshold (which `mallopt` sets and which also stops the adjustment) keeps every
/// body of at least 1 MiB in its own mapping, released with the request: the cost is the page faults of touching a
/// fresh mapping, about 0.1 ms per MiB, against a body that takes milliseconds to arrive.
public enum LargeAllocations {
    /// The threshold: allocations of at least this many bytes get their own mapping.
    public static let threshold = 1 << 20

    /// Fixes glibc's mmap threshold at ``threshold``; returns whether the allocator took it (always `false` off glibc).
    @discardableResult
    public static func returnToSystemWhenFreed(logger: Logger) -> Bool {
        #if canImport(Glibc)
            // `mallopt` is declared in <malloc.h>, which Swift's Glibc module does not import: found by name instead.
            // M_MMAP_THRESHOLD is -3 in glibc's <malloc.h>.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else {
                logger.debug("no mallopt in this C library; large bodies may stay resident")
                return false
            }
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            let taken = mallopt(-3, Int32(threshold)) == 1
            if !taken { logger.warning("could not fix the allocator's mmap threshold; large bodies may stay resident") }
            return taken
        #else
            return false
        #endif
    }
}
