import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords, sh } from '../helpers.js'

const read = (file: string) => fs.readFileSync(file, 'utf8')

t.test('cases', async t => {
  const dir = t.testdir()
  const ran = await runTable(['save', `${dir}/out/counts`, 'txt'], [['hello', 'world'], [['a', 1], { n: 2 }, 3, null, true]])
  t.equal(ran.code, 0, 'exit 0')
  t.equal(ran.stdout, '', 'nothing on stdout')
  t.same(fs.readdirSync(`${dir}/out`), ['counts-1000.txt', 'counts-2000.txt'], 'PREFIX-TIME.SUFFIX, the directory created')
  t.equal(read(`${dir}/out/counts-1000.txt`), 'hello\nworld\n', 'strings bare, one a line')
  t.equal(read(`${dir}/out/counts-2000.txt`), '["a",1]\n{"n":2}\n3\nnull\ntrue\n', 'other values as JSON')

  const bare = await runTable(['save', `${dir}/plain`], [['x']], { interval: 5000 })
  t.equal(bare.code, 0)
  t.equal(read(`${dir}/plain-5000`), 'x\n', 'no SUFFIX: PREFIX-TIME')

  const pass = await runTable(['save', `${dir}/passed`, '--pass'], [['a', 'b'], []])
  t.same(pass.records, [['a', 'b'], []], '--pass forwards the batches unchanged')
  t.equal(read(`${dir}/passed-1000`), 'a\nb\n', 'and still writes the files')
})

t.test('edge cases', async t => {
  const dir = t.testdir()
  await runTable(['save', `${dir}/e`], [[], ['x'], []])
  t.equal(read(`${dir}/e-1000`), '', 'an empty batch gives an empty file')
  t.equal(read(`${dir}/e-3000`), '', 'at the end too')

  await runTable(['save', `${dir}/s`, '--skip-empty'], [[], ['x'], []])
  t.same(fs.readdirSync(dir).filter(f => f.startsWith('s-')), ['s-2000'], '--skip-empty writes no file for an empty batch')

  const records = Array.from({ length: 25 }, (_, i) => ({ i }))
  await runTable(['save', `${dir}/whole`], [records])
  const chunked = await runTable(['save', `${dir}/chunked`, '--pass'], [records], { chunk: 4 })
  t.equal(read(`${dir}/chunked-1000`), read(`${dir}/whole-1000`), 'a chunked batch gives the same file')
  t.equal(chunked.chunks.length, 7, 'with --pass the chunks go on as they came')

  const open = await runWords(['save', `${dir}/open`], '{"time":1000,"interval":1000,"records":["a"],"more":true}\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.notOk(fs.existsSync(`${dir}/open-1000`), 'the partial batch is not written')
  t.same(fs.readdirSync(dir).filter(f => f.startsWith('.open')), [], 'and its temporary file is removed')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/, 'and that is said')

  const none = await runTable(['save', `${dir}/none/x`], [])
  t.equal(none.code, 0, 'no input: exit 0')
  t.notOk(fs.existsSync(`${dir}/none`), 'and no file, no directory')
})

t.test('atomic files', async t => {
  const dir = t.testdir()
  fs.writeFileSync(`${dir}/r-2000`, 'an old version\nof several lines\n')
  await runTable(['save', `${dir}/r`], [['a'], ['b']], { chunk: 1 })
  t.equal(read(`${dir}/r-2000`), 'b\n', 'a batch written again replaces its file')
  t.same(fs.readdirSync(dir), ['r-1000', 'r-2000'], 'no temporary file is left')

  // A reader, between the chunks of a batch, sees the old file or none, never a part.
  const live = await sh(`
    cd ${dir} && mkfifo in
    dstream save r < in & pid=$!
    exec 3> in
    echo '{"time":1000,"interval":1000,"records":["new","first"],"more":true}' >&3
    for i in $(seq 250); do ls -A | grep -q '[.]tmp$' && break; sleep 0.02; done
    echo "open: $(ls -A | grep '[.]tmp$')"
    echo "during: $(cat r-1000)"
    echo "so far: $(cat .r-1000.*.tmp | tr '\\n' ' ')"
    echo '{"time":1000,"interval":1000,"records":["last"]}' >&3
    exec 3>&-
    wait $pid && rm in && echo "after: $(cat r-1000 | tr '\\n' ' ')" && ls -A`)
  t.equal(live.code, 0, live.stderr)
  const [open, during, soFar, after, ...files] = live.stdout.trim().split('\n')
  t.match(open, /^open: \.r-1000\.\d+-\d+\.tmp$/, 'the batch is written to a hidden temporary file beside it')
  t.equal(during, 'during: a', 'while it is open, the old file is whole')
  t.equal(soFar, 'so far: new first ', 'which holds the chunks that came: the batch is not held in memory')
  t.equal(after, 'after: new first last ', 'the batch closed: the new file is in place')
  t.same(files, ['r-1000', 'r-2000'], 'and the temporary file gone')
})

t.test('stale temporary files', async t => {
  // a process that surely is not alive: one that has run and been waited for
  const dead = spawnSync('true').pid
  const live = process.pid
  const dir = t.testdir({
    gone: { [`.r-1000.${dead}-1.tmp`]: 'half a batch', [`.r-2000.${dead}-7.tmp`]: '' },
    alive: { [`.r-1000.${live}-1.tmp`]: 'being written', [`.r-5000.${dead}-1.tmp`]: '' },
    others: { [`.other-1000.${dead}-1.tmp`]: '', [`.counts-1000.${dead}-1.tmp`]: '', [`.c-1000.${dead}-1.tmp`]: '' }
  })

  const ran = await runTable(['save', `${dir}/gone/r`], [['a']])
  t.equal(ran.code, 0, ran.stderr)
  t.same(fs.readdirSync(`${dir}/gone`).sort(), ['r-1000'], 'the temporary files of a save killed outright (its process gone) are removed at the start')

  await runTable(['save', `${dir}/alive/r`], [['a']])
  t.same(fs.readdirSync(`${dir}/alive`).sort(), [`.r-1000.${live}-1.tmp`, 'r-1000'], 'those of a live process are kept: another save may be writing them')

  await runTable(['save', `${dir}/others/c`], [['a']])
  t.same(fs.readdirSync(`${dir}/others`).sort(), [`.counts-1000.${dead}-1.tmp`, `.other-1000.${dead}-1.tmp`, 'c-1000'], 'only those of its own files (PREFIX-TIME) go: not another name\'s, even one that starts with PREFIX')
})

t.test('bad input', async t => {
  const dir = t.testdir({ 'a-file': 'not a directory' })
  const ran = await runTable(['save', `${dir}/a-file/out`], [['x']], { interval: 5000 })
  t.equal(ran.code, 1, 'a file that cannot be written: exit 1')
  t.match(ran.stderr, new RegExp(`^dstream save: batch 5000: cannot write ${dir}/a-file/out-5000: `), 'names the operator, the batch and the file')

  const line = await runWords(['save', `${dir}/b`], batchLines([['x']]) + 'not a batch\n')
  t.equal(line.code, 65, 'a line that is not a batch: exit 65')
  t.match(line.stderr, /dstream save: after batch 1000: not JSON/, 'named with the batch before it')
  t.equal(read(`${dir}/b-1000`), 'x\n', 'the batches before it are saved')

  const mid = await runWords(['save', `${dir}/c/out`], '{"time":1000,"interval":1000,"records":["x"],"more":true}\nnot a batch\n')
  t.equal(mid.code, 65, 'bad input in the middle of a batch: exit 65')
  t.same(fs.readdirSync(`${dir}/c`), [], 'and no file, not even a temporary one, is left of that batch')
})

t.test('usage errors', async t => {
  for (const [words, why] of [[['save'], /missing PREFIX/], [['save', 'a', 'b', 'c'], /unexpected argument 'c'/], [['save', 'a', '--skip'], /Unknown argument/]] as const) {
    const ran = await runWords([...words], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
    t.match(ran.stderr, /Usage: dstream save PREFIX \[SUFFIX\]/)
  }
})
