// A source's graceful stop (SIGINT, SIGTERM: SPEC §4): a promise its reading races
// against, and waits that end early when it settles.

/** A promise to race the input against, and the stop() that settles it. */
export function stopSignal (): { stopped: Promise<void>, stop: () => void } {
  let stop!: () => void
  const stopped = new Promise<void>(resolve => { stop = resolve })
  return { stopped, stop }
}

/** Resolves after `ms`, or as soon as `stopped` settles (the timer is cleared then). */
export function pause (ms: number, stopped: Promise<void>): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms)
    stopped.then(() => { clearTimeout(timer); resolve() })
  })
}
