#!/bin/sh
# Creates a scratch qcow2 disk and exports its path to the tests that need it.
set -eu
dir=$(mktemp -d "${TMPDIR:-/tmp}/testbed-scratch.XXXXXX")
qemu-img create -q -f qcow2 "$dir/scratch.qcow2" 64M
echo "SCRATCH_DISK=$dir/scratch.qcow2" >> "$TESTBED_EXPORT"
