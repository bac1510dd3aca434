// The progress bar of bounded work (lib/intake/progress.ts): drawn through the
// source's stderr when it is a terminal, never written otherwise, its line ended
// when the work ends or is stopped. First on a stand-in terminal (what is written),
// then the real commands on a pseudo-terminal (script -qec) and on a pipe.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { progressBar, type ProgressTarget } from '../../../lib/intake/progress.js'
import { parseOutput, sh } from '../../helpers.js'
import { sleep } from '../../sources/live.js'

/** The text as a terminal shows it in the end: escape sequences out, each line as last drawn. */
function screen (written: string): string {
  return written.replace(/\r\n/g, '\n').split('\n').map(line => line.split(/\x1b\[1G|\r/).filter(Boolean).at(-1) ?? '').join('\n').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
}

/** The bar of a line drawn: its width and how much of it is filled. */
function barOf (line: string): { filled: number, width: number } {
  const [, full, empty] = /\[(#*)(-*)\]/.exec(line) ?? []
  return { filled: full?.length ?? -1, width: (full?.length ?? 0) + (empty?.length ?? 0) }
}

/** A stand-in for a source's context whose stderr is (or is not) a terminal. */
function target (terminal: boolean): ProgressTarget & { written: string } {
  const ctx = { name: 'tail', stderrIsTerminal: terminal, written: '', stderr: (text: string) => { ctx.written += text } }
  return ctx
}

t.test('not a terminal: no bar, nothing written', async t => {
  const ctx = target(false)
  t.equal(progressBar(ctx, { unit: 'bytes', total: 100 }), undefined, 'no bar is made')
  t.equal(ctx.written, '')
})

t.test('a terminal: drawn, and its line ended when the work is over', async t => {
  const ctx = target(true)
  const bar = progressBar(ctx, { unit: 'bytes', total: 2000 })!
  t.ok(bar)
  t.match(screen(ctx.written), /^dstream tail: \[-+\] {3}0% {2}0 B of 2\.0 kB$/, 'drawn at once, empty')
  bar.update(1000)
  bar.update(2000)
  bar.stop()
  t.match(screen(ctx.written), /^dstream tail: \[#+\] 100% {2}2\.0 kB of 2\.0 kB\n$/, 'full, and the line ended')
  t.ok(barOf(screen(ctx.written)).width >= 10 && barOf(screen(ctx.written)).width <= 30, 'a bar 10 to 30 wide')
  t.match(ctx.written, /\x1b\[1G/, 'redrawn from the first column')
  t.notMatch(ctx.written, /\x1b[78]|\x1b\[\?(7|25)[hl]/, "the cursor is neither saved nor restored, the terminal's wrapping and cursor left alone")
  const before = ctx.written
  bar.stop()
  bar.update(5)
  t.equal(ctx.written, before, 'nothing after stop')
})

t.test('stopped early: the bar as it stands, its line ended', async t => {
  const ctx = target(true)
  const bar = progressBar(ctx, { unit: 'records', total: 1_234_567 })!
  bar.update(617_000)
  bar.stop()
  const shown = screen(ctx.written)
  t.match(shown, /^dstream tail: \[#+-+\] {2}49% {2}617,000 of 1,234,567 records\n$/, 'the bar as it stands, no estimate of the time left')
  const { filled, width } = barOf(shown)
  t.equal(filled, Math.round(width * 617_000 / 1_234_567), 'filled in proportion')
  t.ok(shown.length <= 80, `the line fits an 80-column terminal (${shown.length})`)
})

t.test('counted in batches and records, singular for one', async t => {
  const one = target(true)
  const bar = progressBar(one, { unit: 'batches', total: 1 })!
  bar.update(1)
  bar.stop()
  t.match(screen(one.written), /^dstream tail: \[#+\] 100% {2}1 of 1 batch\n$/)
  const three = target(true)
  const bars = progressBar(three, { unit: 'batches', total: 3 })!
  bars.update(2)
  bars.stop()
  t.match(screen(three.written), /\] {2}66% {2}2 of 3 batches\n$/)
})

t.test('nothing to do: nothing drawn; a total learned later draws it', async t => {
  const ctx = target(true)
  const bar = progressBar(ctx, { unit: 'bytes' })!
  bar.update(0, 0)
  t.equal(ctx.written, '', 'a total of 0 is not drawn')
  bar.update(0, 10)
  t.match(screen(ctx.written), /0 B of 10 B$/, 'drawn once there is a total')
  bar.update(10, 10)
  bar.stop()
  t.match(screen(ctx.written), /100% {2}10 B of 10 B\n$/)

  const idle = target(true)
  progressBar(idle, { unit: 'records', total: 0 })!.stop()
  t.equal(idle.written, '', 'stopped without ever having work: nothing at all')
})

t.test('what is said while the bar is drawn goes above it', async t => {
  const ctx = target(true)
  const bar = progressBar(ctx, { unit: 'bytes', total: 100 })!
  bar.update(40)
  bar.say('dstream tail: /x.log was rotated; reading the new file from its start\n')
  bar.update(100)
  bar.stop()
  t.match(screen(ctx.written), /^dstream tail: \/x\.log was rotated; reading the new file from its start\ndstream tail: \[#+\] 100% {2}100 B of 100 B\n$/)
  bar.say('after\n')
  t.ok(ctx.written.endsWith('\nafter\n'), 'after stop, said as it is')
})

t.test('after: work done sooner leaves no trace', async t => {
  const quick = target(true)
  const bar = progressBar(quick, { unit: 'records', total: 10, after: 200 })!
  bar.update(10)
  bar.stop()
  await sleep(300)
  t.equal(quick.written, '', 'over before it was due: nothing')

  const slow = target(true)
  const later = progressBar(slow, { unit: 'records', total: 10, after: 100 })!
  later.update(3)
  t.equal(slow.written, '', 'not drawn before it is due')
  await sleep(250)
  t.match(screen(slow.written), /\] {2}30% {2}3 of 10 records/, 'drawn once due')
  later.update(10)
  later.stop()
  t.match(screen(slow.written), /100% {2}10 of 10 records\n$/)
})

t.test('the commands, on a pseudo-terminal and on a pipe', async t => {
  const dir = t.testdir({ 'big.log': Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(5, '0')}\n`).join(''), in: { 'a.txt': 'a\n'.repeat(500), 'b.txt': 'b\n'.repeat(500) } })
  const log = path.join(dir, 'big.log')
  const size = fs.statSync(log).size
  t.equal(size, 22000)
  /** `command` with stderr on a pseudo-terminal (stdout to a file): what the terminal got */
  const onTerminal = (command: string) => sh(`script -qec ${JSON.stringify(command)} /dev/null < /dev/null`)

  const tty = await onTerminal(`dstream tail --once --from start ${log} --interval 1d --state-dir ${dir}/s1 > ${dir}/out1`)
  t.equal(tty.code, 0, tty.stderr)
  t.equal(parseOutput(fs.readFileSync(`${dir}/out1`, 'utf8')).batches.flatMap(b => b.records).length, 2000, 'every line read')
  t.match(screen(tty.stdout), /^dstream tail: \[#+\] 100% {2}22\.0 kB of 22\.0 kB\n$/, 'tail --once: the bar, full, its line ended')

  // the process ends early (its reader gone: exit 0 on a closed pipe): the bar's line is ended all the same
  const cut = await onTerminal(`dstream tail --once --from start ${log} --interval 1d --state-dir ${dir}/s1b | head -c 1 > /dev/null`)
  t.equal(cut.code, 0, cut.stderr)
  t.match(screen(cut.stdout), /^dstream tail: \[[#-]+\] +\d+% {2}[\d.]+ k?B of 22\.0 kB\n$/, 'a closed pipe: the bar as it stood, its line ended')

  const piped = await sh(`dstream tail --once --from start ${log} --interval 1d --state-dir ${dir}/s2 > ${dir}/out2`)
  t.equal(piped.code, 0, piped.stderr)
  t.equal(piped.stderr, '', 'stderr a pipe: nothing written')

  const watched = await onTerminal(`dstream watch ${dir}/in --once --state-dir ${dir}/s3 > ${dir}/out3`)
  t.equal(watched.code, 0, watched.stderr)
  t.match(screen(watched.stdout), /^dstream watch: \[#+\] 100% {2}2\.0 kB of 2\.0 kB\n$/, 'watch --once: the bar over both files')
  const watchedPiped = await sh(`dstream watch ${dir}/in --once --state-dir ${dir}/s4 > /dev/null`)
  t.equal(watchedPiped.stderr, '', 'stderr a pipe: nothing written')

  // the replay after a restart: tail into save, then the sink's commits taken back
  const pipeline = (stateDir: string) => `dstream tail --once --from start ${log} --interval 1d --state-dir ${stateDir} | dstream save ${dir}/saved --state-dir ${stateDir}`
  for (const s of ['s5', 's6']) {
    const first = await sh(pipeline(`${dir}/${s}`))
    t.equal(first.code, 0, first.stderr)
    const save = fs.readdirSync(`${dir}/${s}`).map(n => path.join(dir, s, n)).find(m => fs.existsSync(path.join(m, 'commit.json')))!
    const commit = JSON.parse(fs.readFileSync(path.join(save, 'commit.json'), 'utf8'))
    fs.writeFileSync(path.join(save, 'commit.json'), JSON.stringify({ ...commit, committed: null }) + '\n')
  }
  const replayed = await onTerminal(pipeline(`${dir}/s5`))
  t.equal(replayed.code, 0, replayed.stderr)
  t.match(screen(replayed.stdout), /^dstream tail: replaying 1 batch the pipeline had not committed \(\d+ to \d+\)\ndstream tail: \[#+\] 100% {2}1 of 1 batch\n$/, 'the replay: said, then its bar')
  const replayedPiped = await sh(`(${pipeline(`${dir}/s6`)}) 2> ${dir}/err6`)
  t.equal(replayedPiped.code, 0, replayedPiped.stderr)
  t.match(fs.readFileSync(`${dir}/err6`, 'utf8'), /^dstream tail: replaying 1 batch the pipeline had not committed \(\d+ to \d+\)\n$/, 'stderr a file: said, and no bar')
})
