// Every command of the toolkit, alphabetically. Adding an operator is one line here.
import batch from '../sources/batch.js'
import combineByKey from '../operators/combine-by-key.js'
import count from '../operators/count.js'
import countByValue from '../operators/count-by-value.js'
import exec from '../sources/exec.js'
import filter from '../operators/filter.js'
import flatMap from '../operators/flat-map.js'
import flatMapValues from '../operators/flat-map-values.js'
import foreach from '../operators/foreach.js'
import generate from '../sources/generate.js'
import glom from '../operators/glom.js'
import groupByKey from '../operators/group-by-key.js'
import listen from '../sources/listen.js'
import map from '../operators/map.js'
import mapValues from '../operators/map-values.js'
import print from '../operators/print.js'
import reduce from '../operators/reduce.js'
import reduceByKey from '../operators/reduce-by-key.js'
import save from '../operators/save.js'
import socket from '../sources/socket.js'
import state from '../tools/state.js'
import transform from '../operators/transform.js'
import union from '../operators/union.js'
import type { Definition } from './types.js'

export const registry: Definition[] = [
  batch,
  combineByKey,
  count,
  countByValue,
  exec,
  filter,
  flatMap,
  flatMapValues,
  foreach,
  generate,
  glom,
  groupByKey,
  listen,
  map,
  mapValues,
  print,
  reduce,
  reduceByKey,
  save,
  socket,
  state,
  transform,
  union
]

export function find (name: string): Definition | undefined {
  return registry.find(d => d.name === name)
}
