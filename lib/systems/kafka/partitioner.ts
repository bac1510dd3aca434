// Kafka's default partitioner (the Java client's, and kafkajs's DefaultPartitioner):
// a keyed message goes to partition murmur2(key bytes), made positive, modulo the
// topic's partitions. The state of the stateful operators is kept per input
// partition (state.ts), and a key's partition is found the same way from its text.

/** Kafka's murmur2 of the bytes, a signed 32-bit int (org.apache.kafka.common.utils.Utils.murmur2). */
export function murmur2 (data: Uint8Array): number {
  const m = 0x5bd1e995
  const length = data.length
  let h = 0x9747b28c ^ length
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  switch (length & 3) {
    case 3: h ^= data[whole + 2] << 16 // falls through
    case 2: h ^= data[whole + 1] << 8 // falls through
    case 1:
      h ^= data[whole]
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** The partition of `partitions` a message keyed `key` (its UTF-8 bytes) goes to. */
export function partitionOfKey (key: string, partitions: number): number {
  return partitionOfBytes(Buffer.from(key, 'utf8'), partitions)
}

/** The partition of `partitions` a message with these key bytes goes to. */
export function partitionOfBytes (key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions
}
