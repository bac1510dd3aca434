#!/bin/sh
# npm start: the live word count of the README's quick start, on the built-in
# generator of access-log lines (no Kafka, no database). Ctrl-C stops it gracefully.
PATH="$(dirname "$0")/../bin:$PATH"
echo "word count of generated access-log lines, every 2 seconds (Ctrl-C to stop)" >&2
dstream generate --rate 50 --interval 2s \
  | dstream flat-map '_.split(" ")' \
  | dstream map '[_, 1]' \
  | dstream reduce-by-key sum \
  | dstream print
