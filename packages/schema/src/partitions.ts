/*
 * Ingest partitioning (issue #10): a device belongs to one of P fixed partitions, and each partition is one
 * persistent MQTT session of the ingest whose client id names the partition and P. The broker reads both from
 * the client id, so it needs no setting of its own to deliver a device's messages only to its partition's
 * session, and ingest workers move whole partitions (sessions, queues and all) between them.
 */

/** FNV-1a, 32 bits, over the UTF-16 code units of `s`: stable across processes, versions and platforms. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The partition (0 … partitions − 1) a device's messages belong to. */
export const partitionOf = (deviceId: string, partitions: number): number => fnv1a32(deviceId) % partitions

/** Largest partition count: two bytes of client id suffix each side stay readable, and a worker opens one session per partition it owns. */
export const MAX_PARTITIONS = 256

/** `mytho-ingest` + 3 of 8 → `mytho-ingest-p03of08`: the partition's persistent-session client id (numbers padded to the width of P). */
export function partitionClientId(prefix: string, index: number, partitions: number): string {
  const w = String(partitions).length
  return `${prefix}-p${String(index).padStart(w, '0')}of${partitions}`
}

const suffix = /-p(\d{1,3})of(\d{1,3})$/

/** The partition a client id stands for, or undefined when it is not a partition session's id. */
export function parsePartitionClientId(clientId: string): { index: number; partitions: number } | undefined {
  const m = suffix.exec(clientId)
  if (!m) return undefined
  const index = Number(m[1])
  const partitions = Number(m[2])
  if (partitions < 1 || partitions > MAX_PARTITIONS || index >= partitions) return undefined
  return { index, partitions }
}
