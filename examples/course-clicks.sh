#!/usr/bin/env bash
# The course's capstone (EXAMPLES.md jobs 9 and 10): the clicks on course pages of an
# access log (the lines of `dstream generate`), counted per day and course, and per day,
# search engine and course, and added into SQL tables and Redis hashes, exactly once:
#
#   course_clickcount(day_course, click_count)                 20261129_112 -> n
#   course_search_clickcount(day_search_course, click_count)   20261129_www.sogou.com_112 -> n
#   hash course_clickcount:DAY         field COURSE         -> n
#   hash course_search_clickcount:DAY  field ENGINE_COURSE  -> n
#
#   examples/course-clicks.sh LOG [--interval 10s]   follows LOG like tail -F, until Ctrl-C
#   examples/course-clicks.sh LOG --once             reads what was appended since the last run, then exits (cron)
#
# The database is $DSTREAM_SQL_URL (default sqlite:stats.db), Redis $DSTREAM_REDIS_URL
# (default redis://127.0.0.1:6379), the pipeline's state $DSTREAM_STATE_DIR (default
# ./state). One pipeline: one source, two branches (tee), four sinks; killed at any
# moment and started again, it loses and repeats nothing.
set -uo pipefail
log=${1:?usage: course-clicks.sh LOG [--once]}
shift
parser="$(cd "$(dirname "$0")" && pwd)/access-log.mjs"
export DSTREAM_SQL_URL=${DSTREAM_SQL_URL:-sqlite:stats.db}
export DSTREAM_STATE_DIR=${DSTREAM_STATE_DIR:-state}

# Each branch is one process (Miller's then: the same output as the piped form, without
# the serialisation between its operators), which matters for a job that cron starts often.
courses () {
  dstream map '_ => [_.day + "_" + _.course, 1]' \
    then reduce-by-key sum \
    then to-sql --table course_clickcount --columns day_course,click_count --mode add --key day_course --create --pass \
    then to-redis --hincrby '([k]) => "course_clickcount:" + k.slice(0, 8)' '([k]) => k.slice(9)' '([, n]) => n'
}

searches () {
  dstream filter '_.engine !== null' \
    then map '_ => [_.day + "_" + _.engine + "_" + _.course, 1]' \
    then reduce-by-key sum \
    then to-sql --table course_search_clickcount --columns day_search_course,click_count --mode add --key day_search_course --create --pass \
    then to-redis --hincrby '([k]) => "course_search_clickcount:" + k.slice(0, 8)' '([k]) => k.slice(9)' '([, n]) => n'
}

# the parsed clicks go to both branches: one through a FIFO, one through the pipe
mkdir -p "$DSTREAM_STATE_DIR"
fifo="$DSTREAM_STATE_DIR/.course-clicks.$$.fifo"
mkfifo "$fifo"
trap 'rm -f "$fifo"' EXIT
courses < "$fifo" &
branch=$!

status=0
dstream tail "$log" --from start "$@" \
    then filter '_.includes("GET /class/")' \
    then map -r "$parser" parse \
  | tee "$fifo" \
  | searches || status=$?
wait "$branch" || status=$?
exit "$status"
