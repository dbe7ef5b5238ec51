#!/usr/bin/env python3
"""Live migration between two QEMUs on loopback, checked by the guest's RAM.

Modes:
  blob   the source guest's RAM holds a random 4 MiB blob (loaded with
         -device loader on the source only); after the migration, the
         destination's copy of that range (pmemsave) must hash the same.
  guest  the source boots a tiny guest of ours (examples/migration/bootsector)
         that keeps incrementing a byte in every 4 KiB page below 576 KiB,
         in the spirit of QEMU's migration-test guest; it is migrated while it
         runs, and on the destination every page must hold the counter or the
         counter minus one (one pass in progress), and it must keep counting.

The source and destination binaries default to qemu-system-x86_64 on PATH;
--src/--dst (or QEMU_SRC/QEMU_DST from an environment's `binaries`) migrate
between two builds, on the newest versioned machine type both support.

Exit 0 when the migration completed and the memory checks out; 1 otherwise,
with the reason on the last line. Both QEMUs are gone when it exits.
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from qemu import Machine, QMPError, free_port  # noqa: E402

BLOB_ADDR = 0x100000
BLOB_SIZE = 4 << 20
PAGES_START = 0x10000
PAGES_END = 0x90000
PAGE = 0x1000


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def machine_types(binary):
    out = subprocess.run([binary, "-machine", "help"], capture_output=True, text=True, timeout=30).stdout
    return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}


def common_machine(src, dst, family="pc-i440fx"):
    """The newest versioned machine type both binaries know, as QEMU's own
    cross-version migration tests choose it."""
    common = machine_types(src) & machine_types(dst)
    pattern = re.compile(re.escape(family) + r"-(\d+)\.(\d+)$")
    versions = sorted((tuple(int(x) for x in m.groups()), name) for name in common if (m := pattern.match(name)))
    if not versions:
        fail(f"{src} and {dst} have no {family}-X.Y machine type in common")
    return versions[-1][1]


def wait_for_migration(src, dst, timeout):
    deadline = time.monotonic() + timeout
    while True:
        status = src.qmp("query-migrate")
        state = status.get("status")
        if state == "completed":
            return status
        if state in ("failed", "cancelled"):
            time.sleep(0.2)  # let the destination write why it refused
            reason = " / ".join(dst.log_tail().splitlines()[-3:]) or "its log is empty"
            fail(f"migration {state}: {status.get('error-desc', 'no reason given')}; the destination says: {reason}")
        if time.monotonic() > deadline:
            fail(f"migration did not complete within {timeout} s (status {state})")
        time.sleep(0.02)


def dump(vm, addr, size, path):
    vm.qmp("pmemsave", val=addr, size=size, filename=path)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != size:
        fail(f"pmemsave wrote {len(data)} bytes, not {size}")
    return data


def page_counters(data):
    return [data[i] for i in range(0, len(data), PAGE)]


def check_counters(counters):
    """Every page holds c or c-1 (mod 256): one pass of the guest's loop in progress."""
    steps = [i for i in range(1, len(counters)) if counters[i] != counters[i - 1]]
    if len(steps) > 1 or any((counters[i - 1] - counters[i]) % 256 != 1 for i in steps):
        fail(f"guest memory is inconsistent after migration: page counters {counters}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["blob", "guest"], default="blob")
    parser.add_argument("--src", default=os.environ.get("QEMU_SRC", "qemu-system-x86_64"))
    parser.add_argument("--dst", default=os.environ.get("QEMU_DST", "qemu-system-x86_64"))
    parser.add_argument("--accel", default=os.environ.get("TESTBED_VARIANT_ACCEL", "tcg"),
                        help="tcg or kvm (default $TESTBED_VARIANT_ACCEL, else tcg)")
    parser.add_argument("--memory", type=int, default=128, help="guest RAM in MiB")
    parser.add_argument("--dest-memory", type=int, help="destination RAM in MiB (a test of the test: must fail)")
    parser.add_argument("--expect-hash", help="the blob hash to expect (a test of the test: a wrong one must fail)")
    parser.add_argument("--machine", default=os.environ.get("TESTBED_VARIANT_MACHINE", "auto"),
                        help="a machine type; pc or q35 for the newest versioned one of that family both QEMUs know "
                             "(default $TESTBED_VARIANT_MACHINE, else pc)")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--bootsector", default=os.environ.get("BOOT_SECTOR", ""),
                        help="the guest's boot sector (default $BOOT_SECTOR, from the bootsector setup)")
    args = parser.parse_args()

    workdir = os.environ.get("TESTBED_OUTPUT_DIR") or tempfile.mkdtemp(prefix="testbed-migrate-")
    families = {"auto": "pc-i440fx", "pc": "pc-i440fx", "q35": "pc-q35"}
    machine = common_machine(args.src, args.dst, families[args.machine]) if args.machine in families else args.machine
    print(f"migrating {args.src} -> {args.dst}, machine {machine}, accel {args.accel}, mode {args.mode}", flush=True)

    common = ["-machine", machine, "-accel", args.accel]
    src_args = common + ["-m", str(args.memory)]
    dst_args = common + ["-m", str(args.dest_memory or args.memory)]
    blob_hash = None
    if args.mode == "blob":
        blob = os.urandom(BLOB_SIZE)
        blob_path = os.path.join(workdir, "blob.bin")
        with open(blob_path, "wb") as f:
            f.write(blob)
        blob_hash = args.expect_hash or hashlib.sha256(blob).hexdigest()
        # Only the source loads the blob: the destination can only get it by migration.
        src_args += ["-S", "-device", f"loader,file={blob_path},addr={BLOB_ADDR:#x},force-raw=on"]
    else:
        if not args.bootsector or not os.path.exists(args.bootsector):
            fail(f"no boot sector {args.bootsector!r}: run this test through testbed (its bootsector setup makes one) "
                 "or pass --bootsector (make one with make-bootsector.py)")
        # snapshot=on: both QEMUs read the same image and write nowhere.
        drive = ["-drive", f"file={args.bootsector},format=raw,if=ide,snapshot=on"]
        src_args += drive + ["-serial", f"file:{os.path.join(workdir, 'src-serial.log')}"]
        dst_args += drive + ["-serial", f"file:{os.path.join(workdir, 'dst-serial.log')}"]

    port = free_port()
    dst_args += ["-incoming", f"tcp:127.0.0.1:{port}"]
    src = Machine(args.src, src_args, name="src", workdir=workdir)
    dst = Machine(args.dst, dst_args, name="dst", workdir=workdir)
    try:
        with src, dst:
            if args.mode == "guest":
                # Let the guest run a while first: its counters must be moving.
                deadline = time.monotonic() + 30
                serial = os.path.join(workdir, "src-serial.log")
                while not (os.path.exists(serial) and os.path.getsize(serial) > 10):
                    if time.monotonic() > deadline:
                        fail("the guest did not start on the source (no output on its serial port)")
                    time.sleep(0.02)
            src.qmp("migrate", uri=f"tcp:127.0.0.1:{port}")
            status = wait_for_migration(src, dst, args.timeout)
            ram = status.get("ram", {})
            print(f"migration completed in {status.get('total-time', '?')} ms, "
                  f"{ram.get('transferred', '?')} bytes transferred", flush=True)

            if args.mode == "blob":
                data = dump(dst, BLOB_ADDR, BLOB_SIZE, os.path.join(workdir, "dst-blob.bin"))
                got = hashlib.sha256(data).hexdigest()
                if got != blob_hash:
                    fail(f"destination RAM at {BLOB_ADDR:#x} hashes {got}, expected {blob_hash}")
                print(f"destination RAM matches the blob (sha256 {got})")
            else:
                deadline = time.monotonic() + 30
                while not dst.qmp("query-status").get("running"):
                    if time.monotonic() > deadline:
                        fail("the destination guest did not resume after migration")
                    time.sleep(0.02)
                # The counters are bytes: a guest stopped after a multiple of 256
                # passes shows all zeros, and two samples match by chance one time
                # in 256. So sample until one is not all zero and one differs from
                # the one before (up to six samples: by chance, one run in 10^12).
                samples = []
                while len(samples) < 6:
                    dst.qmp("stop")
                    counters = page_counters(dump(dst, PAGES_START, PAGES_END - PAGES_START,
                                                  os.path.join(workdir, f"dst-{len(samples) + 1}.bin")))
                    check_counters(counters)
                    samples.append(counters)
                    nonzero = any(c != 0 for s in samples for c in s)
                    moved = any(samples[i] != samples[i - 1] for i in range(1, len(samples)))
                    if nonzero and moved:
                        break
                    dst.qmp("cont")
                    time.sleep(0.2)
                if not nonzero:
                    fail("the guest's pages are all zero on the destination: nothing ran or nothing migrated")
                if not moved:
                    fail("the guest does not run on the destination: its counters did not move")
                print(f"guest memory consistent on the destination (counters {' then '.join(str(s[0]) for s in samples)}), "
                      "and it keeps running")
    except QMPError as error:
        fail(str(error))
    finally:
        for vm in (src, dst):
            vm.shutdown(timeout=5)
    if not (src.gone() and dst.gone()):
        fail("a QEMU process is still running")
    print("both QEMU processes are gone")


if __name__ == "__main__":
    main()
