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
ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=c=black@0.0:s=480x360,format=rgba,\
drawbox=x=40:y=240:w=80:h=100:c=0x4cc9f0@1:t=fill,drawbox=x=150:y=170:w=80:h=170:c=0x4cc9f0@1:t=fill,\
drawbox=x=260:y=90:w=80:h=250:c=0xf72585@1:t=fill,drawbox=x=370:y=30:w=80:h=310:c=0x4cc9f0@1:t=fill,\
drawbox=x=20:y=340:w=440:h=4:c=white@1:t=fill" -frames:v 1 chart.png
# A short landscape clip to re-encode: colour bars with a moving pattern and a tone.
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=s=480x270:r=25:d=4 -f lavfi -i sine=f=440:d=4 \
  -c:v libx264 -preset veryslow -crf 34 -pix_fmt yuv420p -c:a aac -b:a 32k -movflags +faststart clip.mp4
