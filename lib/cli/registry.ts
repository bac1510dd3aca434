// Every command of the toolkit, alphabetically. Adding an operator is one line here.
import aggregateByWindow from '../../operators/aggregate-by-window.js'
import batch from '../../sources/batch.js'
import cogroup from '../../operators/cogroup.js'
import combineByKey from '../../operators/combine-by-key.js'
import count from '../../operators/count.js'
import countByValue from '../../operators/count-by-value.js'
import countByValueAndWindow from '../../operators/count-by-value-and-window.js'
import countByWindow from '../../operators/count-by-window.js'
import dropDuplicates from '../../operators/drop-duplicates.js'
import exec from '../../sources/exec.js'
import filter from '../../operators/filter.js'
import flatMap from '../../operators/flat-map.js'
import flatMapValues from '../../operators/flat-map-values.js'
import flume from '../../sources/flume.js'
import foreach from '../../operators/foreach.js'
import fullOuterJoin from '../../operators/full-outer-join.js'
import generate from '../../sources/generate.js'
import glom from '../../operators/glom.js'
import groupByKey from '../../operators/group-by-key.js'
import groupByKeyAndWindow from '../../operators/group-by-key-and-window.js'
import intervalJoin from '../../operators/interval-join.js'
import join from '../../operators/join.js'
import kafka from '../../sources/kafka.js'
import leftOuterJoin from '../../operators/left-outer-join.js'
import listen from '../../sources/listen.js'
import map from '../../operators/map.js'
import mapValues from '../../operators/map-values.js'
import mapWithState from '../../operators/map-with-state.js'
import print from '../../operators/print.js'
import reduce from '../../operators/reduce.js'
import reduceByKey from '../../operators/reduce-by-key.js'
import reduceByKeyAndWindow from '../../operators/reduce-by-key-and-window.js'
import reduceByWindow from '../../operators/reduce-by-window.js'
import rightOuterJoin from '../../operators/right-outer-join.js'
import save from '../../operators/save.js'
import socket from '../../sources/socket.js'
import sql from '../../operators/sql.js'
import state from '../../tools/state.js'
import tail from '../../sources/tail.js'
import toKafka from '../../operators/to-kafka.js'
import toRedis from '../../operators/to-redis.js'
import toSql from '../../operators/to-sql.js'
import top from '../../tools/top.js'
import transform from '../../operators/transform.js'
import ui from '../../tools/ui.js'
import union from '../../operators/union.js'
import updateStateByKey from '../../operators/update-state-by-key.js'
import watch from '../../sources/watch.js'
import window from '../../operators/window.js'
import type { Definition } from '../core/types.js'

export const registry: Definition[] = [
  aggregateByWindow,
  batch,
  cogroup,
  combineByKey,
  count,
  countByValue,
  countByValueAndWindow,
  countByWindow,
  dropDuplicates,
  exec,
  filter,
  flatMap,
  flatMapValues,
  flume,
  foreach,
  fullOuterJoin,
  generate,
  glom,
  groupByKey,
  groupByKeyAndWindow,
  intervalJoin,
  join,
  kafka,
  leftOuterJoin,
  listen,
  map,
  mapValues,
  mapWithState,
  print,
  reduce,
  reduceByKey,
  reduceByKeyAndWindow,
  reduceByWindow,
  rightOuterJoin,
  save,
  socket,
  sql,
  state,
  tail,
  toKafka,
  toRedis,
  toSql,
  top,
  transform,
  ui,
  union,
  updateStateByKey,
  watch,
  window
]

export function find (name: string): Definition | undefined {
  return registry.find(d => d.name === name)
}

