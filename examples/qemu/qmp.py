#!/usr/bin/env python3
# testbed-requires: qemu >= 7.0, cmd:python3
# testbed-tags: qemu quick
# testbed-timeout: 1m
"""QMP answers: negotiate capabilities, query-version, and check that QMP
reports the version Testbed's `qemu` fact found; then quit, and QEMU is gone."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from qemu import Machine, version_text  # noqa: E402

expected = os.environ.get("TESTBED_FACT_QEMU")
if not expected:
    sys.exit("FAIL: TESTBED_FACT_QEMU is not set (run this test through testbed)")

vm = Machine("qemu-system-x86_64", ["-machine", "none", "-S"], name="qmp",
             workdir=os.environ.get("TESTBED_OUTPUT_DIR"))
with vm:
    greeting = version_text(vm.greeting)
    reply = vm.qmp("query-version")
    reported = version_text(reply)
    print(f"QMP greeting version {greeting}, query-version {reported}, package {reply.get('package', '').strip()}")
    if reported != greeting:
        sys.exit(f"FAIL: query-version says {reported} but the greeting said {greeting}")
    # The fact may carry more parts (7.2.22 vs a build's 7.2.22.1); compare what QMP reports.
    if not (expected == reported or expected.startswith(reported + ".")):
        sys.exit(f"FAIL: QMP reports {reported}, the qemu fact says {expected}")
if not vm.gone():
    sys.exit("FAIL: QEMU is still running after quit")
print(f"QEMU {reported} matches the qemu fact; QEMU quit")
