// Keyed state across instances: a running word count (update-state-by-key) over a
// topic of 6 partitions keyed by word, into another topic with to-kafka, run by two
// instances and then three (each its own state directory, one consumer group), with
// seeded random kill -9s of any process of any instance and restarts, so that
// partitions move between instances and their state with them, through the
// changelog topic. At the end the union of the instances' latest states (their last
// checkpoints) equals the true counts, and the output topic, read with
// read_committed, ends with each word's true total.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { keep, random, sleep } from '../crash.js'
import { freshDir } from '../helpers.js'
import { Instance, groupGround } from '../instances.js'
import { groupLag, pollFor, produce, readTopic } from '../kafkaHelpers.js'
import { kafka } from '../services.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)
const PARTITIONS = 6
const RECORDS = 9000
const WORDS = 300

/** The state in an instance's last checkpoint of update-state-by-key: word → count (empty without one). */
function lastState (stateDir: string): Map<string, number> {
  const dir = fs.readdirSync(stateDir).find(name => name.startsWith('update-state-by-key-'))
  if (!dir) return new Map()
  const files = fs.readdirSync(path.join(stateDir, dir)).filter(f => /^checkpoint-\d+\.json$/.test(f)).sort()
  if (files.length === 0) return new Map()
  const saved = JSON.parse(fs.readFileSync(path.join(stateDir, dir, files.at(-1)!), 'utf8')).state
  return new Map(saved.state as Array<[string, number]>)
}

t.test('a running word count over a keyed topic, two then three instances killed at random: the state and the output end true', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const { seed, input, output, group, instances } = await groupGround(t, brokers, 'state', PARTITIONS)
  const next = random(seed)
  // a skewed vocabulary: some words often, most rarely
  const words = Array.from({ length: RECORDS }, () => `w${Math.floor(WORDS * next() ** 2)}`)
  const truth = new Map<string, number>()
  for (const w of words) truth.set(w, (truth.get(w) ?? 0) + 1)
  // keyed by the word: the default partitioner puts a word's records in one partition
  await produce(brokers, input, words.map(w => ({ key: w, value: w })))

  const kills = Array.from({ length: KILLS }, () => ({ after: 2000 + Math.round(next() * 4000), instance: next(), stage: Math.floor(next() * 4) }))
  const restarts = Array.from({ length: 3 }, () => Array.from({ length: KILLS + 5 }, () => 500 + Math.round(next() * 9500)))
  const stages = [
    ['kafka', '--brokers', brokers, '--topic', input, '--group', group, '--from', 'earliest', '--session-timeout', '6s', '--interval', '500ms', '--max-rate-per-partition', '40'],
    ['map', 'w => [w, 1]'],
    ['update-state-by-key', '(vs, s = 0) => s + vs.length'],
    ['to-kafka', '--brokers', brokers, '--topic', output, '--key', '([w]) => w', '--value', '([, n]) => String(n)']
  ]
  const root = freshDir()
  const log = (text: string) => t.comment(text)
  const start = (i: number) => {
    const dir = path.join(root, `instance-${i}`)
    fs.mkdirSync(dir)
    let restart = 0
    instances.push(new Instance(`instance ${i}`, dir, stages, () => restarts[i][Math.min(restart++, KILLS + 4)], log))
  }
  start(0)
  start(1)
  for (const [n, kill] of kills.entries()) {
    await sleep(kill.after)
    // the third instance joins halfway through the kills
    if (n === Math.floor(KILLS / 2)) { start(2); log('instance 2 starts') }
    const target = Math.floor(kill.instance * instances.length)
    const hit = instances[target].kill(kill.stage)
    log(`seed ${seed}: kill ${n + 1}: kill -9 dstream ${stages[kill.stage][0]} of instance ${target}${hit ? '' : ' (it was not running: no kill)'}`)
  }

  const lag = await pollFor(() => groupLag(brokers, group, input), l => l.total === 0, { ms: 180_000, every: 1000 })
  t.equal(lag.total, 0, `the group's lag ends at 0 (${[...lag.partitions].map(([p, n]) => `${p}: ${n}`).join(', ')})`)
  await sleep(2000) // a batch or two more: every instance checkpoints the state it holds
  const codes = await Promise.all(instances.map(i => i.stop()))
  t.same(codes, codes.map(() => 0), 'every instance stops gracefully with exit 0')

  // every word in some instance's last state, and wherever it is, with its true count
  const union = new Map<string, number[]>()
  for (const [i] of instances.entries()) {
    for (const [w, n] of lastState(path.join(root, `instance-${i}`, 'state'))) union.set(w, [...(union.get(w) ?? []), n])
  }
  const wrong = [...truth].filter(([w, n]) => !union.has(w) || union.get(w)!.some(m => m !== n)).map(([w, n]) => `${w}: true ${n}, held ${JSON.stringify(union.get(w) ?? [])}`)
  t.same(wrong.slice(0, 20), [], `the instances' latest states hold every word with its true count (${wrong.length} do not)`)
  t.equal([...union.keys()].filter(w => !truth.has(w)).length, 0, 'and no word that was not in the input')

  const last = new Map<string, number>()
  for (const m of await readTopic(brokers, output, { timeout: 120_000 })) last.set(m.key!, Number(m.value)) // a key's messages are in one partition, in order
  const off = [...truth].filter(([w, n]) => last.get(w) !== n).map(([w, n]) => `${w}: true ${n}, last written ${last.get(w)}`)
  t.same(off.slice(0, 20), [], `read_committed, the output's last count of every word is its true total (${off.length} are not)`)

  const stderr = instances.map((_, i) => fs.readFileSync(path.join(root, `instance-${i}`, 'stderr.log'), 'utf8')).join('\n')
  t.comment(`runs: ${instances.map(i => `${i.name}: ${i.runs}`).join(', ')}; partitions restored from the changelog: ${(stderr.match(/restored from/g) ?? []).length}; dropped: ${(stderr.match(/: dropped/g) ?? []).length}`)
  if (!t.passing()) t.comment(`kept for a look: ${keep(seed, { instances: root })} (stderr.log of each instance)`)
})
