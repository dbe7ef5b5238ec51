#!/bin/bash
# Fetches the guest image from the lab mirror; the mirror (127.0.0.1:9) is down.
echo "fetching http://127.0.0.1:9/alpine-virt.qcow2"
if ! exec 3<>/dev/tcp/127.0.0.1/9; then
    echo "fetch-image: mirror 127.0.0.1:9 unreachable: connection refused" >&2
    exit 7
fi
