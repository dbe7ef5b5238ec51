#!/usr/bin/env python3
"""What the run's snapshot costs at its start: a package list of 3,000 lines
against none.

Generates a suite of one trivial test and three environment files:
`packages: none`, `packages: cat packages.txt` (N generated `NAME<tab>VERSION`
lines) and one without `packages:` (the real default: dpkg-query, or rpm, on
this host). Times `testbed run SUITE -e ENV` (release build, a fresh results
directory each run, so every run also inserts its snapshot row) in alternating
turns, and prints the median wall time of each, the difference in ms and the
ratio. Also times the default list command alone and counts its packages.

    bench/snapshot_cost.py                    # builds release, 9 runs each, 3,000 packages
    bench/snapshot_cost.py --runs 15 --packages 6000 --no-build
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DPKG = ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n"]
RPM = ["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"]


def generate(directory, packages):
    os.makedirs(os.path.join(directory, "suite"))
    os.makedirs(os.path.join(directory, "env"))
    with open(os.path.join(directory, "suite", "testbed.yaml"), "w") as f:
        f.write("tests:\n  one: 'true'\n")
    with open(os.path.join(directory, "env", "none.yaml"), "w") as f:
        f.write("packages: none\n")
    with open(os.path.join(directory, "env", "list.yaml"), "w") as f:
        f.write("packages: cat packages.txt\n")
    with open(os.path.join(directory, "env", "default.yaml"), "w") as f:
        f.write("description: the default package list of this host\n")
    with open(os.path.join(directory, "env", "packages.txt"), "w") as f:
        for i in range(packages):
            f.write(f"lib-package-{i:05d}-common\t{i % 7}:{i % 13}.{i % 101}.{i % 17}-{i % 5}ubuntu{i % 3}\n")


def run_once(binary, directory, environment, turn):
    results = os.path.join(directory, f"results-{environment}-{turn}")
    start = time.perf_counter()
    subprocess.run([binary, "run", "suite", "-e", f"env/{environment}.yaml", "--results", results], cwd=directory,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(results, ignore_errors=True)
    return elapsed


def default_list():
    """The default list command of this host, its package count and median time over 9 runs."""
    command = DPKG if shutil.which("dpkg-query") else RPM if shutil.which("rpm") else None
    if command is None:
        return None
    times = []
    output = ""
    for _ in range(9):
        start = time.perf_counter()
        output = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        times.append(time.perf_counter() - start)
    installed = [line for line in output.splitlines() if line and (command is RPM or line[1:2] not in ("n", "c"))]
    return command[0], len(installed), statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--packages", type=int, default=3000)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/testbed"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["flock", "/work/build.lock", "swift", "build", "-c", "release", "--product", "testbed"], cwd=ROOT,
                       check=True, stdout=sys.stderr)
    directory = tempfile.mkdtemp(prefix="testbed-snapshot-bench-")
    try:
        generate(directory, args.packages)
        variants = ["none", "list", "default"]
        times = {variant: [] for variant in variants}
        for variant in variants:  # warm the page cache
            run_once(args.binary, directory, variant, "warm")
        for turn in range(args.runs):
            for variant in variants if turn % 2 == 0 else reversed(variants):
                times[variant].append(run_once(args.binary, directory, variant, turn))
        median = {variant: statistics.median(values) for variant, values in times.items()}
        print(f"testbed run of one trivial test, median of {args.runs} (release, a fresh results directory each):")
        print(f"  packages: none                       {median['none'] * 1000:7.1f} ms")
        print(f"  packages: cat FILE ({args.packages:,} packages)  {median['list'] * 1000:7.1f} ms"
              f"   +{(median['list'] - median['none']) * 1000:.1f} ms, x{median['list'] / median['none']:.2f}")
        print(f"  default (this host's package list)   {median['default'] * 1000:7.1f} ms"
              f"   +{(median['default'] - median['none']) * 1000:.1f} ms, x{median['default'] / median['none']:.2f}")
        listed = default_list()
        if listed:
            name, count, seconds = listed
            print(f"  {name} alone: {count:,} packages in {seconds * 1000:.1f} ms (median of 9)")
        else:
            print("  no dpkg-query or rpm on this host: the default records no package list")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
