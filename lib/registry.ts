// Every command of the toolkit, alphabetically. Adding an operator is one line here.
import batch from '../sources/batch.js'
import filter from '../operators/filter.js'
import flatMap from '../operators/flat-map.js'
import map from '../operators/map.js'
import print from '../operators/print.js'
import reduceByKey from '../operators/reduce-by-key.js'
import type { Definition } from './types.js'

export const registry: Definition[] = [
  batch,
  filter,
  flatMap,
  map,
  print,
  reduceByKey
]

export function find (name: string): Definition | undefined {
  return registry.find(d => d.name === name)
}
