#!/usr/bin/env python3
"""embed.py — turn a file into a C source defining its bytes, so the binary
carries the OpenAPI document: embed.py INPUT OUTPUT SYMBOL."""
import sys

src, out, sym = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
with open(out, "w") as f:
    f.write("/* Generated from %s by embed.py; do not edit. */\n#include <stddef.h>\n" % src.split("/")[-1])
    f.write("const unsigned char %s[] = {\n" % sym)
    for i in range(0, len(data), 16):
        f.write("  " + ", ".join(str(b) for b in data[i:i + 16]) + ",\n")
    f.write("  0\n};\nconst size_t %s_len = %d;\n" % (sym, len(data)))
