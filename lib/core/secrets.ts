// Credentials never stand in a message or a file in full (SPEC §4): the password of
// a URL (scheme://user:password@host/...) shows as ***, wherever the URL is said.

/** The URL with the password of its user info masked: mysql://wc:***@db:3306/stats. */
export function maskUrl (url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)
  if (!scheme) return url
  const rest = url.slice(scheme[0].length)
  // the authority ends at the first / ? or #; its user info at the last @ in it
  const end = rest.search(/[/?#]/)
  const authority = end === -1 ? rest : rest.slice(0, end)
  const at = authority.lastIndexOf('@')
  if (at === -1) return url
  const colon = authority.indexOf(':')
  if (colon === -1 || colon > at) return url
  return scheme[0] + authority.slice(0, colon + 1) + '***' + authority.slice(at) + rest.slice(authority.length)
}

/** A text (a driver's error message) with every occurrence of `secret` masked. */
export function maskSecret (text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text
}
