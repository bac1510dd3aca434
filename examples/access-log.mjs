// The access-log lines of `dstream generate` (the course's log generator) parsed, for
// the analytics job of the README (examples/course-clicks.sh). Loaded with
// -r examples/access-log.mjs, its exports are in scope of every function:
//   82.88.45.123 2020-05-23 19:06:00 "GET /class/112.html HTTP/1.1" 404 http://www.sogou.com/web?query=hadoop
const LINE = /^(\S+) (\d{4})-(\d\d)-(\d\d) (\d\d:\d\d):\d\d "(\S+) (\S+) [^"]*" (\d{3}) (\S+)$/
const ENGINES = /(^|\.)(sogou|bing|baidu|yahoo|google)\./

/**
 * A line as { ip, day: '20200523', minute: '2020-05-23 19:06', path, course: '112'
 * (null for a page that is not a course's), status, referer, engine: the search
 * engine's host, or null }; null for a line that is not an access-log line.
 */
export function parse (line) {
  const m = LINE.exec(line)
  if (!m) return null
  const [, ip, year, month, day, minute, , path, status, referer] = m
  return {
    ip,
    day: year + month + day,
    minute: `${year}-${month}-${day} ${minute}`,
    path,
    course: /^\/class\/(\d+)\.html/.exec(path)?.[1] ?? null,
    status: Number(status),
    referer,
    engine: engineOf(referer)
  }
}

/** The host of a search engine's referer (www.sogou.com), null for any other referer. */
export function engineOf (referer) {
  if (referer === '-') return null
  try {
    const host = new URL(referer).hostname
    return ENGINES.test(host) ? host : null
  } catch {
    return null
  }
}
