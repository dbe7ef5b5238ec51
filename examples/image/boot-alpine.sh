#!/bin/sh
# testbed-requires: image:alpine, qemu >= 7.0
# testbed-tags: image qemu
# testbed-timeout: 5m
# Boots the Alpine guest image (from the guest-image setup) and waits for its login prompt.
set -eu
serial="$TESTBED_OUTPUT_DIR/serial.log"
timeout 240 qemu-system-x86_64 -m 256 -nodefaults -display none -snapshot \
    -drive "file=$GUEST_IMAGE,if=virtio" -serial "file:$serial" &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
    grep -q "login:" "$serial" 2>/dev/null && { echo "the guest reached its login prompt"; exit 0; }
    sleep 1
done
echo "no login prompt on the serial console"; exit 1
