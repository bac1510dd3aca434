// to-kafka's marker: the last batch it wrote for good, committed in the same Kafka
// transaction as the batch's records, as the offset of partition 0 of its topic in a
// consumer group of the sink's own. to-kafka reads it at start to skip what it had
// written; the kafka source reads it at start to know which of its logged batches
// the sink committed, when that sink commits the source's offsets too (batches.ts).
import type { Admin } from 'kafkajs'
import { instanceTag, whileRetriable } from './client.js'

/** The marker's group: dstream-to-kafka.NAME.TAG, NAME the sink's in the state directory, TAG this host's and state directory's. */
export function markerGroup (sinkName: string, stateDir: string): string {
  return `dstream-to-kafka.${sinkName}.${instanceTag(stateDir)}`
}

/** The batch time the marker holds, -Infinity when the sink has written nothing yet. */
export async function readMarker (admin: Admin, group: string): Promise<number> {
  // the group commits one offset only, for the sink's topic: every topic of the group is read
  const topics = await whileRetriable(() => admin.fetchOffsets({ groupId: group }))
  let marker = -Infinity
  for (const { partitions } of topics) {
    const offset = Number(partitions.find(p => p.partition === 0)?.offset ?? -1)
    if (offset >= 0) marker = Math.max(marker, offset)
  }
  return marker
}
