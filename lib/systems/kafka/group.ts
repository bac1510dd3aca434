// The kafka source's membership of its consumer group: which partitions are this
// instance's. The member fetches nothing (every partition it gets is paused; the
// records come through lib/systems/kafka/reader.ts), it only takes part in the group.
//
// A rebalance must not hand a partition on while a batch holding part of it is in
// flight (logged and emitted, not yet committed by the sinks): the new owner would
// start from the group's offset and read that part again. So each member says, in
// the metadata it joins with, how far its batches in flight go, and the leader's
// assignor waits, before it assigns, until the offset store holds those offsets.
// The members' pipelines go on meanwhile (reading does not need the group, and
// offsets are committed through the store), so the wait ends as soon as the sinks
// have committed; it is bounded (half the session timeout), so a member that hangs
// cannot stop the group.
import { AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs'
import type { OffsetStore } from './offsetStore.js'

/**
 * The longest the leader waits for batches in flight before it assigns anyway: half
 * the session timeout, since the members waiting for their assignment meanwhile
 * send no heartbeats, and the group drops a member silent for a session timeout.
 */
const handOverWait = (sessionTimeout: number) => Math.floor(sessionTimeout / 2)

export interface Membership {
  kafka: Kafka
  group: string
  topics: string[]
  sessionTimeout: number
  store: OffsetStore
  /** "topic\u0000partition" → the offset this member's batches in flight end at */
  inFlight(): Map<string, number>
  /** the group is rebalancing: this member's partitions may go elsewhere */
  revoked(): void
  /** the partitions this member has now */
  assigned(partitions: Array<{ topic: string, partition: number }>): void
  say(text: string): void
}

export class GroupMember {
  private constructor (private readonly consumer: Consumer) {}

  static async join (m: Membership): Promise<GroupMember> {
    const consumer = m.kafka.consumer({
      groupId: m.group,
      sessionTimeout: m.sessionTimeout,
      heartbeatInterval: Math.max(500, Math.floor(m.sessionTimeout / 3)),
      rebalanceTimeout: 2 * m.sessionTimeout,
      maxWaitTimeInMs: 1000,
      partitionAssigners: [handOver(m)]
    })
    const { GROUP_JOIN, REBALANCING, CRASH } = consumer.events
    consumer.on(REBALANCING, () => m.revoked())
    consumer.on(CRASH, ({ payload }) => {
      m.revoked()
      m.say(`group ${m.group}: ${payload.error.message}${payload.restart ? '; joining again' : ''}`)
    })
    consumer.on(GROUP_JOIN, ({ payload }) => {
      const partitions = Object.entries(payload.memberAssignment).map(([topic, ps]) => ({ topic, partitions: ps }))
      // the member fetches nothing: the reader does
      if (partitions.length > 0) consumer.pause(partitions)
      m.assigned(partitions.flatMap(({ topic, partitions }) => partitions.map(partition => ({ topic, partition }))))
    })
    await consumer.connect()
    await consumer.subscribe({ topics: m.topics })
    await consumer.run({ autoCommit: false, eachBatch: async () => {} })
    return new GroupMember(consumer)
  }

  /** Leaves the group (its partitions go to the others at once). */
  async leave (): Promise<void> {
    await this.consumer.disconnect().catch(() => {})
  }
}

/** Round robin over the members, once the batches in flight that the members report are in the store. */
function handOver (m: Membership): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'DstreamHandOver',
    version: 1,
    protocol ({ topics }) {
      const inFlight = Object.fromEntries(m.inFlight())
      return { name: 'DstreamHandOver', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(inFlight)) }) }
    },
    async assign ({ members, topics }) {
      const waitFor = new Map<string, number>()
      for (const member of members) {
        const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata)
        let reported: Record<string, number> = {}
        try { reported = JSON.parse(metadata?.userData.toString() || '{}') } catch { /* a member of another version: nothing to wait for */ }
        for (const [key, until] of Object.entries(reported)) waitFor.set(key, Math.max(waitFor.get(key) ?? 0, until))
      }
      await untilStored(m, waitFor)
      const ids = members.map(member => member.memberId).sort()
      const assignment: Record<string, Record<string, number[]>> = Object.fromEntries(ids.map(id => [id, {}]))
      let i = 0
      for (const topic of [...topics].sort()) {
        for (const { partitionId } of [...cluster.findTopicPartitionMetadata(topic)].sort((a, b) => a.partitionId - b.partitionId)) {
          const to = assignment[ids[i++ % ids.length]]
          ;(to[topic] ??= []).push(partitionId)
        }
      }
      return ids.map(memberId => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: assignment[memberId], userData: Buffer.alloc(0) }) }))
    }
  })
}

async function untilStored (m: Membership, waitFor: Map<string, number>): Promise<void> {
  if (waitFor.size === 0) return
  const wait = handOverWait(m.sessionTimeout)
  const deadline = Date.now() + wait
  for (;;) {
    let stored
    try {
      stored = await m.store.read(m.topics)
    } catch {
      stored = new Map<string, number>()
    }
    const missing = [...waitFor].filter(([key, until]) => (stored.get(key) ?? -1) < until)
    if (missing.length === 0) return
    if (Date.now() > deadline) {
      m.say(`group ${m.group}: batches in flight on ${missing.length} partition(s) were not committed within ${wait / 1000}s; assigning anyway (their records may be read twice)`)
      return
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

