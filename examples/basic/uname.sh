#!/bin/sh
# A drop-in test: an executable with testbed- header lines is a test as it stands.
# testbed-requires: kernel-3.10+, arch
# testbed-tags: quick
# testbed-timeout: 10s
release=$(uname -r)
[ -n "$release" ] || { echo "uname -r printed nothing"; exit 1; }
echo "kernel $release"
