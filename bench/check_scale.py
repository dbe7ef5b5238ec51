#!/usr/bin/env python3
"""How long `testbed check` takes on generated suites, and how it grows.

Generates N tests x M setups (each test requires one fact that one setup
provides, plus a kernel comparison and a command), runs `testbed check` on each
(release build, output to /dev/null) several times, and prints the median wall
time and the growth ratio t(large)/t(small). Usage:

    bench/check_scale.py [--runs 5] [--sizes 10000x100,100000x1000] [--markdown]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_PER_FILE = 1000


def generate(directory, tests, setups):
    with open(os.path.join(directory, "testbed.yaml"), "w") as f:
        f.write("setups:\n")
        for s in range(setups):
            f.write(f"  s{s}:\n    run: 'true'\n    provides: [\"fact{s}\"]\n    teardown: 'true'\n")
    for start in range(0, tests, TESTS_PER_FILE):
        sub = os.path.join(directory, f"group{start // TESTS_PER_FILE:04d}")
        os.makedirs(sub)
        with open(os.path.join(sub, "testbed.yaml"), "w") as f:
            f.write("tests:\n")
            for t in range(start, min(tests, start + TESTS_PER_FILE)):
                f.write(f"  t{t}:\n    run: 'true'\n    requires: [\"fact{t % setups}\", \"kernel >= 3.0\", \"cmd:sh\"]\n"
                        f"    tags: [bench, group{t % 10}]\n")


def timed(binary, suite, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([binary, "check", suite], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10000x100,100000x1000")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/testbed"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table row per size")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "testbed"], cwd=ROOT, check=True,
                       stdout=sys.stderr)
    sizes = [tuple(int(x) for x in size.split("x")) for size in args.sizes.split(",")]
    results = []
    for tests, setups in sizes:
        with tempfile.TemporaryDirectory(prefix="testbed-bench-") as suite:
            generate(suite, tests, setups)
            median, times = timed(args.binary, suite, args.runs)
            results.append((tests, setups, median, times))
            print(f"check {tests:>7} tests x {setups:>5} setups: median {median:.3f} s "
                  f"(runs: {', '.join(f'{t:.3f}' for t in times)})", flush=True)
    if len(results) >= 2:
        (t0, _, m0, _), (t1, _, m1, _) = results[0], results[-1]
        print(f"growth: t({t1})/t({t0}) = {m1 / m0:.2f} for {t1 / t0:.0f}x the tests (linear: {t1 / t0:.0f})")
    if args.markdown:
        for tests, setups, median, _ in results:
            print(f"| {tests:,} | {setups:,} | {median:.3f} s |")


if __name__ == "__main__":
    main()
