/**
 * Hash slots and the driver's slot groups on a Redis Cluster.
 *
 * A cluster runs a multi-key command or a script only when all its keys are in one hash slot. The
 * driver therefore puts each entry, the tag sets it joins and nothing else into one of `groups` slot
 * groups: every key of group `g` carries the same hash tag `{ttt}` (three base-36 characters), so
 * `SET` + `SADD` of a tagged write and the tag check + `UNLINK` of `deleteByTag` stay one atomic
 * script, as on one node. The tags are chosen so that group `g`'s slot falls in the `g`-th of
 * `groups` equal ranges of the 16,384 slots: a cluster whose masters own equal slot ranges (what
 * `redis-cli --cluster create` makes) gets equal shares of the groups.
 */

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster maps keys to slots with. */
const CRC_TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ byte) & 0xff] as number)
  return crc
}

const encoder = new TextEncoder()

/** The hash slot of a key, hash tags included (`a{b}c` hashes `b`). */
export function slotOf(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return crc16(encoder.encode(key.slice(open + 1, close))) & 16383
  }
  return crc16(encoder.encode(key)) & 16383
}

/** Width of a group's hash tag: fixed, so `SCAN MATCH` can spell it with `?` and keys cut at one offset. */
export const GROUP_TAG_WIDTH = 3

export const MAX_GROUPS = 1_024

export interface SlotGroups {
  /** `{ttt}` of each group. */
  readonly tags: readonly string[]
  /** The hash slot of each group. */
  readonly slots: readonly number[]
  /** The group a cache key belongs to (FNV-1a of its UTF-16 code units: the same in every process). */
  groupOf(key: string): number
}

const made = new Map<number, SlotGroups>()

/** The `count` slot groups (computed once per count: about 10 × count CRCs of three bytes). */
export function slotGroups(count: number): SlotGroups {
  const known = made.get(count)
  if (known) return known
  const tags: string[] = new Array(count)
  const slots: number[] = new Array(count)
  let filled = 0
  for (let n = 0; filled < count && n < 36 ** GROUP_TAG_WIDTH; n++) {
    const tag = n.toString(36).padStart(GROUP_TAG_WIDTH, '0')
    const slot = slotOf(tag)
    const group = Math.floor((slot * count) / 16384)
    if (tags[group] !== undefined) continue
    tags[group] = `{${tag}}`
    slots[group] = slot
    filled++
  }
  if (filled < count) throw new Error(`no hash tag found for every one of ${count} slot groups`)
  const groups: SlotGroups = {
    tags,
    slots,
    groupOf(key) {
      let hash = 0x811c9dc5
      for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
      return (hash >>> 0) % count
    },
  }
  made.set(count, groups)
  return groups
}
