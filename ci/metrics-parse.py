#!/usr/bin/env python3
"""Parse a Prometheus text exposition (stdin or a file) with prometheus-client's own parser and check its shape.

Checks, beyond what the parser enforces: every family has a `# HELP` and a `# TYPE` line, HELP first; every
histogram has `_bucket` samples with an `le="+Inf"` bucket equal to its `_count`, cumulative buckets, and `_sum`.
Prints one JSON object: {"families": {name: {"type", "help"}}, "samples": [[name, {labels}, value], ...]}.
Exits 1 with a message on stderr when the text does not parse or a check fails.

Usage: metrics-parse.py [FILE]      (needs `pip install prometheus-client`)
"""
import json
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("metrics-parse: prometheus-client is not installed (pip install prometheus-client)", file=sys.stderr)
    sys.exit(2)


def fail(message):
    print(f"metrics-parse: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()

    # HELP before TYPE, once per family, in the raw text (the parser accepts a family without either).
    helped, typed = set(), {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in helped:
                fail(f"line {number}: second HELP for {name}")
            helped.add(name)
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4:
                fail(f"line {number}: malformed TYPE line: {line!r}")
            name = parts[2]
            if name not in helped:
                fail(f"line {number}: TYPE for {name} without a HELP line before it")
            typed[name] = parts[3]

    try:
        families = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and friends on malformed text
        fail(f"not Prometheus text format: {error}")

    out = {"families": {}, "samples": []}
    for family in families:
        # The parser strips _total from counter family names; the raw TYPE line keeps the full name.
        raw_name = family.name
        if family.type == "counter" and family.name + "_total" in typed:
            raw_name = family.name + "_total"
        if raw_name not in typed:
            fail(f"family {family.name} has no TYPE line")
        if not family.documentation:
            fail(f"family {raw_name} has empty HELP")
        out["families"][raw_name] = {"type": family.type, "help": family.documentation}
        if family.type == "histogram":
            check_histogram(family)
        for sample in family.samples:
            out["samples"].append([sample.name, dict(sample.labels), sample.value])
    json.dump(out, sys.stdout)
    print()


def check_histogram(family):
    series = {}
    for sample in family.samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        key = tuple(sorted(labels.items()))
        entry = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sample.name == family.name + "_bucket":
            entry["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name == family.name + "_sum":
            entry["sum"] = sample.value
        elif sample.name == family.name + "_count":
            entry["count"] = sample.value
    if not series:
        fail(f"histogram {family.name} has no samples")
    for key, entry in series.items():
        where = f"histogram {family.name}{dict(key)}"
        if entry["sum"] is None or entry["count"] is None:
            fail(f"{where}: missing _sum or _count")
        buckets = sorted(entry["buckets"])
        if not buckets or buckets[-1][0] != float("inf"):
            fail(f"{where}: no le=\"+Inf\" bucket")
        if buckets[-1][1] != entry["count"]:
            fail(f"{where}: +Inf bucket {buckets[-1][1]} != _count {entry['count']}")
        values = [value for _, value in buckets]
        if values != sorted(values):
            fail(f"{where}: buckets are not cumulative")


if __name__ == "__main__":
    main()
