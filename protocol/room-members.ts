/**
 * Who is in a room, as its directory's messages (protocol/directory.ts) tell
 * it: one table with one set of rules, kept by every node of the room
 * (p2p/room-directory.ts) and by the relay for each room it carries
 * (relay/room-directory.ts). Pure: the caller says what time it is and who
 * is still connected to it.
 *
 * - A peer's own announcement is its word: kept as it is.
 * - A relay's word about others (a roster, a vouch) adds peers the table
 *   does not know; a roster for this node (it is the newcomer) also renews
 *   the ones it knows, but never over what a peer said itself a moment ago.
 * - aikyo nodes never announce: their relay vouches for them, again once a
 *   minute, and that renews them.
 * - `leave` (the peer's), `gone` (its relay's: unless still connected to us),
 *   and silence for longer than the expiry take a peer out.
 * - At most MAX_MEMBERS peers: a newcomer beyond is not kept (it still
 *   converses; it is only not listed).
 */
import { MAX_MEMBERS } from './directory.ts'
import type { RosterEntry } from './directory.ts'
import type { CompanionCard } from './payloads.ts'

/** A member of the room: its addresses and card, when it was last heard of, and whether it is aikyo's. */
export interface Member extends RosterEntry {
  heard: number
}

/** What a peer said about itself is fresher than a relay's word about it for this long (ms). */
export const OWN_WORD_MS = 1000

export class RoomMembers {
  readonly #members = new Map<string, Member>()
  readonly #self: string | undefined

  /** `self`: the node keeping the table, never a member of it (none for a relay's table). */
  constructor (self?: string) {
    this.#self = self
  }

  get size (): number { return this.#members.size }
  has (peer: string): boolean { return this.#members.has(peer) }
  get (peer: string): Member | undefined { return this.#members.get(peer) }
  peers (): string[] { return [...this.#members.keys()] }
  all (): Member[] { return [...this.#members.values()] }

  /** Whether `peer` may be added: not this node, and room for one more unless it is known. */
  #admits (peer: string): boolean {
    return peer !== this.#self && (this.#members.has(peer) || this.#members.size < MAX_MEMBERS)
  }

  /** `peer` announced itself. Returns the member it was before (undefined: new) and now, or nothing when it is not kept. */
  announce (peer: string, addrs: string[], card: CompanionCard | null, now: number): { before: Member | undefined, member: Member } | undefined {
    if (!this.#admits(peer)) return undefined
    const before = this.#members.get(peer)
    const member: Member = { peer, addrs, card, heard: now }
    this.#members.set(peer, member)
    return { before, member }
  }

  /**
   * A relay's roster. Peers new to the table are added; with `forUs` (this
   * node is the newcomer it was sent for) the others are renewed too, unless
   * they spoke for themselves within OWN_WORD_MS. aikyo nodes are only ever
   * added from a roster (their relay's vouch renews them). Returns the
   * members, not aikyo's, that a roster for us named (to link to).
   */
  roster (entries: readonly RosterEntry[], now: number, forUs: boolean): Member[] {
    const named: Member[] = []
    for (const entry of entries) {
      if (!this.#admits(entry.peer)) continue
      const known = this.#members.get(entry.peer)
      const aikyo = entry.aikyo === true
      if (known === undefined || (forUs && !aikyo && known.heard <= now - OWN_WORD_MS)) {
        this.#members.set(entry.peer, { ...entry, heard: now })
      } else if (aikyo) {
        known.aikyo = true
      }
      if (forUs && !aikyo) named.push(this.#members.get(entry.peer)!)
    }
    return named
  }

  /** A relay vouches for these aikyo nodes (all but those `except` says it vouches for itself). */
  vouch (entries: ReadonlyArray<{ peer: string, addrs: string[], card: CompanionCard }>, now: number, except: (peer: string) => boolean = () => false): void {
    for (const { peer, addrs, card } of entries) {
      if (except(peer) || !this.#admits(peer)) continue
      this.#members.set(peer, { peer, addrs, card, aikyo: true, heard: now })
    }
  }

  /** The peer left (its `leave`), or is known to be gone. Returns whether it was a member. */
  remove (peer: string): boolean {
    return this.#members.delete(peer)
  }

  /** A relay says these peers are gone: they are, unless `stillHere` (connected to us) says otherwise. */
  gone (peers: readonly string[], stillHere: (peer: string) => boolean): void {
    for (const peer of peers) if (!stillHere(peer)) this.#members.delete(peer)
  }

  /** Peers not heard of since `before` have gone, unless `stillHere` says otherwise. */
  expire (before: number, stillHere: (peer: string) => boolean): void {
    for (const [peer, member] of this.#members) if (member.heard < before && !stillHere(peer)) this.#members.delete(peer)
  }
}
