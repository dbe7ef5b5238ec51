#!/bin/sh
# testbed-requires: qemu >= 7.0, cmd:qemu-system-x86_64
# testbed-tags: qemu quick
# testbed-timeout: 30s
# QEMU starts and reports a version (install-qemu provides it on a bare host).
set -eu
out=$(qemu-system-x86_64 --version)
echo "$out"
echo "$out" | grep -q '^QEMU emulator version [0-9]'
