#!/usr/bin/env python3
"""The Python reference for the validator benchmark: the `jsonschema` library (Draft202012Validator
with its format checker) on the same schemas and payloads as `routehost-microbench`, with the same
case names, so that Benchmarks/bench.py can print the ratio.

Usage: jsonschema_reference.py [--repo DIR] [--seconds 0.3] [--json out.json]

`format: uri` is only checked by jsonschema when `rfc3987` or `rfc3986-validator` is installed
(run.sh installs rfc3986-validator); `uri_checked` in the output says whether it was.
"""

import argparse
import json
import os
import time
from importlib.metadata import version

from jsonschema import Draft202012Validator


def measure(body, seconds):
    """Calibrates to about `seconds`, then returns the best and the median rate of five rounds."""
    iterations = 1
    while True:
        start = time.perf_counter()
        for _ in range(iterations):
            body()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4:
            iterations = max(1, int(iterations * seconds / elapsed))
            break
        iterations *= 10 if elapsed < seconds / 100 else 2
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(iterations):
            body()
        rates.append(iterations / (time.perf_counter() - start))
    rates.sort()
    return rates[-1], rates[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default=".")
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--json")
    args = parser.parse_args()
    repo = args.repo
    cases = [
        ("youtube-info", f"{repo}/schemas/youtube-info.json",
         [("valid", f"{repo}/Benchmarks/payloads/info-valid.json"), ("invalid", f"{repo}/Benchmarks/payloads/info-invalid.json")]),
        ("media-large", f"{repo}/Benchmarks/schemas/media-large.json",
         [("valid", f"{repo}/Benchmarks/payloads/media-valid.json"), ("invalid", f"{repo}/Benchmarks/payloads/media-invalid.json")]),
    ]
    uri_checked = not Draft202012Validator.FORMAT_CHECKER.conforms("not a uri", "uri")
    results = {}
    for label, schema_path, payloads in cases:
        with open(schema_path) as f:
            validator = Draft202012Validator(json.load(f), format_checker=Draft202012Validator.FORMAT_CHECKER)
        for kind, path in payloads:
            with open(path, "rb") as f:
                raw = f.read()
            instance = json.loads(raw)
            assert validator.is_valid(instance) == (kind == "valid"), f"{path} should be {kind}"
            bodies = {
                "isValid": lambda: validator.is_valid(instance),
                "validate": lambda: list(validator.iter_errors(instance)),
                "parse+isValid": lambda: validator.is_valid(json.loads(raw)),
            }
            for name, body in bodies.items():
                best, median = measure(body, args.seconds)
                key = f"validation {label} {kind} {name}"
                results[key] = {"per_second": best, "median_per_second": median}
                print(f"python {key:<44} {best:14.0f} /s  (median {median:12.0f} /s)")
    out = {"version": version("jsonschema"), "uri_checked": uri_checked, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
