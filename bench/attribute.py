#!/usr/bin/env python3
"""Where the proxy's CPU goes, from `perf script -F ip,sym,dso` output of a `perf record -g` profile (bench/cost.sh
runs it under PROFILE=1). Not a unit test: a reading aid for profiles.

Each sample is put in one of three parts by its stack:
  - "our logic": the innermost frame of this package's Proxy module has no NIO pipeline or socket frame below it
    (routing, the lease, the relay's bookkeeping, the activity record, metrics — with the runtime, malloc and
    retain/release they call);
  - "NIO I/O called by us": below that innermost Proxy frame there is a pipeline or socket frame (the writes,
    flushes and closes the proxy asks for, with the codec, the kernel's send path and the receiver's wake-up);
  - "outside our code": no Proxy frame at all (the event loop, reads, NIO's decoders before our handlers).
With the number of requests (or streams) the profile covered, each part is printed in microseconds per request,
then the heaviest Proxy frames of "our logic" (everything below them that is not NIO I/O), and the samples spent in
the runtime's reference-count slow paths (taken for objects with a side table, such as one that a weak reference
points to).

Usage: attribute.py PERF_SCRIPT_OUTPUT REQUESTS SAMPLE_HZ [TOP=25] [UNIT=request]
"""
import collections
import subprocess
import sys


def stacks(path):
    """Yields each sample's frames, innermost first, as (symbol, dso)."""
    frames = []
    with open(path, errors="replace") as file:
        for line in file:
            line = line.rstrip("\n")
            if not line.strip():
                if frames:
                    yield frames
                frames = []
                continue
            parts = line.strip().split(" ", 1)
            if len(parts) < 2:
                continue
            cut = parts[1].rfind(" (")
            if cut < 0:
                continue
            frames.append((parts[1][:cut], parts[1][cut + 2:-1]))
    if frames:
        yield frames


def is_nio_io(symbol):
    return symbol.startswith("$s8NIOPosix") or (
        symbol.startswith("$s7NIOCore") and ("Pipeline" in symbol or "HandlerContext" in symbol))


def main():
    path, requests, hz = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    unit = sys.argv[5] if len(sys.argv) > 5 else "request"
    parts = collections.Counter()
    own = collections.Counter()
    slow = 0
    total = 0
    for frames in stacks(path):
        total += 1
        if "RefCounts" in frames[0][0] and "Slow" in frames[0][0]:
            slow += 1
        inner = next((i for i, (symbol, _) in enumerate(frames) if symbol.startswith("$s5Proxy")), None)
        if inner is None:
            parts["outside our code"] += 1
        elif any(is_nio_io(symbol) for symbol, _ in frames[:inner]):
            parts["NIO I/O called by us"] += 1
        else:
            parts["our logic"] += 1
            own[frames[inner][0]] += 1
    if total == 0 or requests == 0:
        print("attribute.py: no samples or no requests")
        return
    micros = lambda samples: samples / hz / requests * 1e6
    print(f"  CPU per {unit} by part ({total} samples at {hz:.0f} Hz over {requests} {unit}s):")
    for name in ("our logic", "NIO I/O called by us", "outside our code"):
        print(f"    {micros(parts[name]):7.2f} µs  {name}")
    print(f"    {micros(total):7.2f} µs  in all")
    print(f"  reference-count slow paths: {100 * slow / total:.2f} % of samples")
    heaviest = own.most_common(top)
    names = subprocess.run(
        ["swift-demangle", "--simplified", "--compact"], input="\n".join(symbol for symbol, _ in heaviest),
        capture_output=True, text=True).stdout.split("\n")
    print(f"  the {top} heaviest Proxy frames of our logic (µs per {unit}, with what they call that is not NIO I/O):")
    for (symbol, samples), name in zip(heaviest, names):
        print(f"    {micros(samples):6.2f}  {(name or symbol)[:120]}")


if __name__ == "__main__":
    main()
