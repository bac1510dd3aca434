import t from 'tap'
import { canonicalJson, keyOf } from '../../../lib/core/keys.js'

t.test('keys compare by value', async t => {
  t.equal(keyOf('a'), 'a', 'a string key is itself')
  t.not(keyOf('1'), keyOf(1), 'the string "1" and the number 1 differ')
  t.equal(keyOf(['x', 2]), keyOf(['x', 2]), 'arrays by value')
  t.equal(keyOf({ a: 1, b: 2 }), keyOf({ b: 2, a: 1 }), 'objects whatever their key order')
  t.not(keyOf(null), keyOf('null'))
  t.not(keyOf('\u0000"a"'), keyOf('a'), 'a string that looks like an encoded key does not collide')
  t.not(keyOf('\u0000"a"'), keyOf(['a']))
  t.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null }), '{"a":null,"b":[1,{"c":2,"d":1}]}')
})
