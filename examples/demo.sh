#!/bin/sh
# make demo: a daemon on ./spool renders the example jobs, then everything is
# shown and the daemon is stopped. Run from the repository root.
set -eu
bin=${BIN:-.build/release}
spool=./spool
mkdir -p examples/out
export EXPORTCTL_SPOOL="$spool"

"$bin/exportctl" daemon &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT INT TERM

echo "== submit"
ids=$("$bin/exportctl" submit examples/jobs/episode.json examples/jobs/teaser.json examples/jobs/memo.json \
  examples/jobs/episode-video.json examples/jobs/clip-vertical.json examples/jobs/carousel.json)
echo "$ids"

echo "== wait"
# shellcheck disable=SC2086
"$bin/exportctl" wait --timeout 300 $ids

echo "== outputs"
for f in examples/out/*.mp3; do
  if command -v ffprobe >/dev/null 2>&1; then
    ffprobe -v error -show_entries format=duration,bit_rate:format_tags=title:stream=sample_rate,channels \
      -of default=nw=1 "$f" | awk -v f="$f" -F= '{v[$1]=$2} END {
        printf "%s  %.1f s, %d kbit/s, %d Hz, %d ch%s\n", f, v["duration"], v["bit_rate"]/1000, v["sample_rate"], v["channels"],
          (v["TAG:title"] != "" ? ", title \"" v["TAG:title"] "\"" : "") }'
  else
    ls -l "$f"
  fi
done

for f in examples/out/*.mp4; do
  if command -v ffprobe >/dev/null 2>&1; then
    ffprobe -v error -show_entries format=duration,bit_rate:stream=codec_name,width,height,r_frame_rate \
      -of default=nw=1 "$f" | awk -v f="$f" -F= '
        $1 == "codec_name" { c = c (c == "" ? "" : " + ") $2 } $1 == "width" { w = $2 } $1 == "height" { h = $2 }
        $1 == "r_frame_rate" && r == "" { split($2, q, "/"); r = q[1] / q[2] } $1 == "duration" { d = $2 } $1 == "bit_rate" { b = $2 }
        END { printf "%s  %.1f s, %dx%d at %g fps, %s, %d kbit/s\n", f, d, w, h, r, c, b / 1000 }'
  else
    ls -l "$f"
  fi
done

for d in examples/out/*-carousel; do
  [ -f "$d/manifest.json" ] || continue
  printf '%s/  %s\n' "$d" "$(ls "$d" | tr '\n' ' ')"
  if command -v ffprobe >/dev/null 2>&1; then
    for f in "$d"/0*; do
      printf '  %s  %s, %s bytes\n' "$(basename "$f")" "$(ffprobe -v error -show_entries stream=width,height -of csv=s=x:p=0 "$f")" "$(wc -c < "$f")"
    done
  fi
done

echo "== stats"
"$bin/exportctl" stats

kill -TERM $daemon
wait $daemon || true
trap - EXIT INT TERM
echo "== daemon stopped; spool kept in $spool (exportctl list --spool $spool)"
