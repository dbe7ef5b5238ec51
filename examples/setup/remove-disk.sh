#!/bin/sh
# Removes the scratch disk made by make-disk.sh (its path comes from the export).
set -eu
[ -n "${SCRATCH_DISK:-}" ] || exit 0
rm -f -- "$SCRATCH_DISK"
rmdir -- "$(dirname -- "$SCRATCH_DISK")" 2>/dev/null || true
