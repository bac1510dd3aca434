import t from 'tap'
import { compileFunction, compileReducer, loadScope } from '../../../lib/core/functions.js'

t.test('function expressions and _ expressions', async t => {
  t.same(compileFunction('w => [w, 1]')('a'), ['a', 1])
  t.equal(compileFunction('(a, b) => a + b')(1, 2), 3)
  t.equal(compileFunction('function (r) { return r.ip }')({ ip: 'x' }), 'x')
  t.equal(compileFunction('async x => x')('y') instanceof Promise, true)
  t.same(compileFunction('_.split(" ")')('a b'), ['a', 'b'])
  t.same(compileFunction('[_, 1]')('w'), ['w', 1])
  t.same(compileFunction('({ n: _ })')(3), { n: 3 }, 'an object literal in parentheses')
  t.equal(compileFunction('(_ + 1) * 2')(1), 4, 'parentheses that are not an arrow')
})

t.test('built-in reducers', async t => {
  const fold = (name: string, values: unknown[]) => {
    const r = compileReducer(name)
    return values.slice(1).reduce((acc, v) => r.add(acc, v), r.lift(values[0]))
  }
  t.equal(fold('sum', [1, 2, 3]), 6)
  t.equal(fold('min', [3, 1, 2]), 1)
  t.equal(fold('max', ['a', 'c', 'b']), 'c')
  t.same(fold('concat', [[1], [2, 3]]), [1, 2, 3])
  t.equal(fold('concat', ['a', 'b']), 'ab')
  t.equal(fold('count', ['x', 'y', 'z']), 3)
  t.equal(compileReducer('count').merge(2, 3), 5, 'count merges by adding')
  t.equal(fold('(a, b) => a * b', [2, 3, 4]), 24, 'a user function')
})

t.test('--require scope', async t => {
  const dir = t.testdir({
    'lib.mjs': 'export const double = x => x * 2\nexport const FACTOR = 10\n',
    'old.cjs': 'module.exports = { triple: x => x * 3 }\n',
    'words.json': '{"stop": ["a", "the"]}'
  })
  const scope = await loadScope([`${dir}/lib.mjs`, `${dir}/old.cjs`, `${dir}/words.json`])
  t.equal(compileFunction('x => double(x) + FACTOR', scope)(1), 12, 'ES module exports are in scope')
  t.equal(compileFunction('triple(_)', scope)(2), 6, 'CommonJS exports too')
  t.equal(compileFunction('stop.includes(_)', scope)('the'), true, 'and a JSON object')
  t.equal(compileFunction('double', scope)(4), 8, 'a bare name of a required function is that function')
  await t.rejects(loadScope([`${dir}/missing.js`]), { exitCode: 2, message: /--require .*missing\.js/ })
})

t.test('bad functions', async t => {
  t.throws(() => compileFunction('(', {}, 'function'), { exitCode: 2, message: /function does not compile: \(\n {2}SyntaxError/ })
  t.throws(() => compileFunction('x => ', {}, 'function'), { exitCode: 2, message: /function does not compile: x => / })
  t.throws(() => compileFunction('function (', {}, 'function'), { exitCode: 2, message: /function does not compile: function \(/ })
})
