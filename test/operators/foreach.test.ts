import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords, sh } from '../helpers.js'

t.test('cases', async t => {
  const ran = await runTable(['foreach', '--', 'cat'], [['a', { n: 1 }], [['k', 2]]])
  t.equal(ran.code, 0, 'exit 0')
  t.equal(ran.stdout, '"a"\n{"n":1}\n["k",2]\n', "records as NDJSON on the command's stdin; its stdout is ours")

  const text = await runTable(['foreach', '--text', '--', 'cat'], [['a b', { n: 1 }]])
  t.equal(text.stdout, 'a b\n{"n":1}\n', '--text: strings bare, other values as JSON')

  const env = await runTable(['foreach', '--', 'sh', '-c', 'echo "$DSTREAM_BATCH_TIME $DSTREAM_BATCH_INTERVAL $(wc -l)"'], [['x', 'y'], [], ['z']], { interval: 5000 })
  t.equal(env.stdout, '5000 5000 2\n10000 5000 0\n15000 5000 1\n', 'once per batch, in order, with the batch time and interval in its environment')

  const stderr = await runTable(['foreach', '--', 'sh', '-c', 'echo to-stderr >&2'], [['x']])
  t.equal(stderr.stdout, '', 'nothing on stdout')
  t.equal(stderr.stderr, 'to-stderr\n', "the command's stderr is ours")

  const pass = await runTable(['foreach', '--pass', '--', 'sh', '-c', 'echo "saw $(wc -l)"'], [['a', 'b'], []])
  t.same(pass.records, [['a', 'b'], []], '--pass forwards the batches on stdout')
  t.equal(pass.stderr, 'saw 2\nsaw 0\n', "and the command's stdout goes to stderr")

  const quoted = await runTable(['foreach', '--', 'printf', '%s|', '--text'], [['x']])
  t.equal(quoted.stdout, '--text|', 'words after -- are the command\'s, even ones that look like options')
})

t.test('edge cases', async t => {
  const skip = await runTable(['foreach', '--skip-empty', '--', 'sh', '-c', 'echo $DSTREAM_BATCH_TIME'], [[], ['x'], []])
  t.equal(skip.stdout, '2000\n', '--skip-empty does not run the command for an empty batch')

  const records = Array.from({ length: 10 }, (_, i) => i)
  const whole = await runTable(['foreach', '--', 'sh', '-c', 'echo "$(wc -l) $(tail -n1)"'], [records])
  const chunked = await runTable(['foreach', '--', 'sh', '-c', 'echo "$(wc -l) $(tail -n1)"'], [records], { chunk: 3 })
  t.equal(chunked.stdout, whole.stdout, 'a chunked batch runs the command once, with all its records')

  const big = Array.from({ length: 50_000 }, (_, i) => `record number ${i}`)
  const deaf = await runTable(['foreach', '--', 'true'], [big])
  t.equal(deaf.code, 0, 'a command that does not read its stdin is fine')

  const none = await runTable(['foreach', '--', 'sh', '-c', 'echo ran'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input: no run, exit 0')
})

t.test('retries', async t => {
  const dir = t.testdir()
  // fails on its first two runs, then succeeds
  const flaky = `n=$(cat ${dir}/count 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/count; [ $n -ge 2 ] && cat`
  const ran = await runTable(['foreach', '--backoff', '10ms', '--', 'sh', '-c', flaky], [['a']])
  t.equal(ran.code, 0, 'succeeds on the third run: exit 0')
  t.equal(fs.readFileSync(`${dir}/count`, 'utf8'), '3\n', 'it ran three times')
  t.equal(ran.stdout, '"a"\n', 'each run is given the batch')
  t.match(ran.stderr, /^dstream foreach: batch 1000: sh -c .*: exit status 1; retry 1 of 3 in 10ms\ndstream foreach: batch 1000: sh -c .*: exit status 1; retry 2 of 3 in 20ms\n$/, 'each failure said, with a doubling wait')

  const started = Date.now()
  const always = await runTable(['foreach', '--retries', '2', '--', 'sh', '-c', `echo run >> ${dir}/runs; exit 3`], [['a'], ['b']], { interval: 5000 })
  t.ok(Date.now() - started >= 300, 'waits 100 ms, then 200 ms, by default')
  t.equal(always.code, 1, 'a command that always fails: exit 1')
  t.equal(fs.readFileSync(`${dir}/runs`, 'utf8'), 'run\nrun\nrun\n', 'after --retries 2 retries, three runs in all')
  t.match(always.stderr, /dstream foreach: batch 5000: command failed 3 times: sh -c 'echo run >> .*; exit 3': exit status 3\n$/, 'names the command, the batch and the exit status')

  const killed = await runTable(['foreach', '--retries', '0', '--', 'sh', '-c', 'kill -9 $$'], [['a']])
  t.equal(killed.code, 1, '--retries 0: the first failure stops it')
  t.match(killed.stderr, /command failed 1 time: sh -c 'kill -9 \$\$': killed by SIGKILL/, 'a killed command is a failure')
})

t.test('bad input', async t => {
  const missing = await runTable(['foreach', '--', 'no-such-command-here'], [['x']], { interval: 5000 })
  t.equal(missing.code, 1, 'a command that cannot be run: exit 1, no retries')
  t.match(missing.stderr, /^dstream foreach: batch 5000: cannot run no-such-command-here: spawn no-such-command-here ENOENT\n$/, 'names the operator, the batch and the command')

  const line = await runWords(['foreach', '--', 'cat'], batchLines([['x']]) + '{"time":2000}\n')
  t.equal(line.code, 65, 'a line that is not a batch: exit 65')
  t.match(line.stderr, /dstream foreach: after batch 1000: not a batch/, 'named with the batch before it')
  t.equal(line.stdout, '"x"\n', 'the batches before it were handed to the command')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['foreach'], /missing CMD/],
    [['foreach', '--retries', '-1', '--', 'cat'], /--retries must be a whole number/],
    [['foreach', '--retries', '1.5', '--', 'cat'], /--retries must be a whole number/],
    [['foreach', '--backoff', 'soon', '--', 'cat'], /bad --backoff 'soon'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords(words, '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
    t.match(ran.stderr, /^dstream foreach: /)
  }
})

t.test('through real pipes', async t => {
  const dir = t.testdir()
  const ran = await sh(`cd ${dir} && dstream foreach --text -- sh -c 'cat > "out-$DSTREAM_BATCH_TIME"' && cat out-1000 out-2000`, { input: batchLines([['a', 'b'], ['c']]) })
  t.equal(ran.code, 0, ran.stderr)
  t.equal(ran.stdout, 'a\nb\nc\n', 'one file per batch, written by the command')
})
