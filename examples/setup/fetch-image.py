#!/usr/bin/env python3
"""Downloads a guest image: fetch-image.py URL OUTPUT. Exits 1, saying why, when
the server cannot be reached (the example suite's mirror is a loopback port
where nothing listens: a real infrastructure failure)."""
import os
import sys
import urllib.request

url, output = sys.argv[1], sys.argv[2]
print(f"fetching {url}", flush=True)
try:
    with urllib.request.urlopen(url, timeout=10) as response, open(output + ".part", "wb") as f:
        while chunk := response.read(1 << 20):
            f.write(chunk)
except OSError as error:
    print(f"fetch-image: cannot download {url}: {getattr(error, 'reason', error)}", file=sys.stderr)
    sys.exit(1)
os.replace(output + ".part", output)
with open(os.environ["TESTBED_EXPORT"], "a") as f:
    f.write(f"GUEST_IMAGE={output}\n")
