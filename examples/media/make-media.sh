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
