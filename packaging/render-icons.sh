#!/usr/bin/env bash
# Renders resources/icons/parley.svg into the PNG sizes the desktops want
# (resources/icons/hicolor/<size>x<size>/apps/parley.png), the Windows .ico and the
# macOS .icns. They are committed, so building never needs this; run it after changing
# the SVG (needs rsvg-convert from Debian's librsvg2-bin and png2icns from icnsutils).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for size in 16 24 32 48 64 128 256 512; do
    out="$root/resources/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$out"
    rsvg-convert --width "$size" --height "$size" "$root/resources/icons/parley.svg" \
        --output "$out/parley.png"
done

# Windows: an .ico holding the PNGs as they are (PNG entries, Windows Vista and later).
python3 - "$root/resources/icons" <<'PY'
import struct, sys
icons = sys.argv[1]
sizes = [16, 24, 32, 48, 64, 128, 256]
images = [open(f"{icons}/hicolor/{s}x{s}/apps/parley.png", "rb").read() for s in sizes]
header = struct.pack("<HHH", 0, 1, len(images))
offset = len(header) + 16 * len(images)
entries, data = b"", b""
for size, png in zip(sizes, images):
    edge = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
    entries += struct.pack("<BBBBHHII", edge, edge, 0, 0, 1, 32, len(png), offset + len(data))
    data += png
open(f"{icons}/parley.ico", "wb").write(header + entries + data)
PY
# macOS: an .icns for the app bundle (png2icns from Debian's icnsutils).
png2icns "$root/resources/icons/parley.icns" \
    "$root"/resources/icons/hicolor/{16x16,32x32,48x48,128x128,256x256,512x512}/apps/parley.png \
    >/dev/null
