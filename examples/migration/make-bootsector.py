#!/usr/bin/env python3
"""Assembles the migration test's guest: a 512-byte x86 boot sector.

In 16-bit real mode it increments one byte in every 4 KiB page from 0x10000
to 0x8ffff, over and over, and writes 'B' to COM1 after each pass, so memory
keeps changing while the guest is migrated (the idea of QEMU's own
migration-test guest, x86-a-b-bootblock). The listing below is the source;
each instruction is encoded by hand next to it.

Usage: make-bootsector.py OUTPUT
"""
import sys

LISTING = [
    ("fa",         "start: cli"),
    ("31c0",       "       xor  ax, ax"),
    ("8ed8",       "       mov  ds, ax"),
    ("bb0010",     "outer: mov  bx, 0x1000          ; segment of page 0x10000"),
    ("8ec3",       "page:  mov  es, bx"),
    ("26fe060000", "       inc  byte [es:0]         ; the page's counter"),
    ("81c30001",   "       add  bx, 0x100           ; next 4 KiB page"),
    ("81fb0090",   "       cmp  bx, 0x9000          ; up to 0x90000"),
    ("72ef",       "       jb   page                ; rel8 -17"),
    ("baf803",     "       mov  dx, 0x3f8           ; COM1"),
    ("b042",       "       mov  al, 'B'"),
    ("ee",         "       out  dx, al"),
    ("ebe4",       "       jmp  outer               ; rel8 -28"),
]


def assemble():
    code = b"".join(bytes.fromhex(hexcode) for hexcode, _ in LISTING)
    if len(code) > 510:
        raise SystemExit("the boot sector code is longer than 510 bytes")
    return code + bytes(510 - len(code)) + b"\x55\xaa"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1], "wb") as f:
        f.write(assemble())
        # A disk of one sector boots on pc's IDE but not on q35's AHCI: the
        # image is padded (sparse) to 1 MiB, the boot sector still 512 bytes.
        f.truncate(1 << 20)
    print(f"wrote {sys.argv[1]} (a 512-byte boot sector on a 1 MiB disk)")
