#!/bin/sh
# testbed-requires: kvm
# testbed-tags: kvm quick
# testbed-timeout: 10s
# /dev/kvm is there and writable: KVM-accelerated tests can run on this host.
set -eu
test -c /dev/kvm
test -w /dev/kvm
echo "/dev/kvm is usable"
