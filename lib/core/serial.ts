// Runs calls one after another even when some return promises, and stays
// synchronous while none does (the hot path). A source's timer and its input
// both emit; the pipeline behind them must see one chunk at a time.
export class Serial {
  private busy: Promise<void> | undefined

  run (call: () => void | Promise<void>): void | Promise<void> {
    if (this.busy) return this.settle(this.busy.then(call))
    const result = call()
    if (result) return this.settle(result)
  }

  private settle (work: Promise<void>): Promise<void> {
    const mine: Promise<void> = work.then(() => { if (this.busy === mine) this.busy = undefined })
    this.busy = mine
    return mine
  }
}
