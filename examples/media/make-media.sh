#!/bin/sh
# How the example media were made (they are committed, so `make demo` needs
# no network and no speech synthesiser). Re-run to regenerate:
#   apt-get install espeak-ng ffmpeg && sh examples/media/make-media.sh
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/voice.wav" \
  "Welcome to episode one. exportctl turns audio, images and text into media files, one job at a time, from a spool directory. Submit a job, get an id, and wait for the output."
espeak-ng -v en-gb -s 160 -w "$tmp/memo.wav" \
  "Memo: the render finished overnight. Check the outputs folder in the morning."
# Episode: the voice in stereo, 22.05 kHz FLAC (lossless, and small enough to commit).
ffmpeg -nostdin -loglevel error -y -i "$tmp/voice.wav" \
  -af "aresample=22050,pan=stereo|c0=c0|c1=c0" -c:a flac -sample_fmt s16 episode.flac
# A voice memo as a browser recorder would send it: Opus in Ogg, mono.
ffmpeg -nostdin -loglevel error -y -i "$tmp/memo.wav" -c:a libopus -b:a 24k memo.opus
# Slides for the mp4 examples: a warm gradient "photo" (JPEG) and a bar chart
# with a transparent background (PNG with alpha), both small.
ffmpeg -nostdin -loglevel error -y -f lavfi -i "gradients=s=640x480:c0=0xff7a18:c1=0x3a1c71:x0=0:y0=0:x1=640:y1=480:n=2,format=rgb24" \
  -frames:v 1 -q:v 4 cover.jpg
# (drawn by python3: FFmpeg 5.1's drawbox cannot write alpha into an RGBA frame)
python3 - <<'PY'
import struct, zlib
w, h = 480, 360
px = bytearray(w * h * 4)  # transparent
def box(x, y, bw, bh, rgb):
    for r in range(y, y + bh):
        for c in range(x, x + bw):
            px[(r * w + c) * 4:(r * w + c) * 4 + 4] = bytes(rgb) + b"\xff"
for x, y, bh, rgb in [(40, 240, 100, (0x4c, 0xc9, 0xf0)), (150, 170, 170, (0x4c, 0xc9, 0xf0)),
                      (260, 90, 250, (0xf7, 0x25, 0x85)), (370, 30, 310, (0x4c, 0xc9, 0xf0))]:
    box(x, y, 80, bh, rgb)
box(20, 340, 440, 4, (255, 255, 255))
raw = b"".join(b"\x00" + bytes(px[r * w * 4:(r + 1) * w * 4]) for r in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open("chart.png", "wb").write(png)
PY
# A short landscape clip to re-encode: colour bars with a moving pattern and a tone.
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=s=480x270:r=25:d=4 -f lavfi -i sine=f=440:d=4 \
  -c:v libx264 -preset veryslow -crf 34 -pix_fmt yuv420p -c:a aac -b:a 32k -movflags +faststart clip.mp4
