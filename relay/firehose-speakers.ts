/**
 * Who a firehose client may speak as (the `from` of what it publishes): never
 * a companion present in the room (its id belongs to the peer that presents
 * its card: protocol/claims.ts), and a person id only while no other open
 * firehose connection uses it. A connection keeps the person ids it spoke as
 * until it closes, at most MAX_PERSONS_PER_CLIENT.
 */
import { isCompanionId } from '../protocol/ids.ts'
import type { RoomName } from '../protocol/rooms.ts'

export const MAX_PERSONS_PER_CLIENT = 64

export interface FirehoseSpeakers<C> {
  /** Why `client` may not speak as `ids` in `room`, or undefined if it may (nothing is claimed yet). */
  refusal: (client: C, room: RoomName, ids: readonly string[]) => string | undefined
  /** The person ids among `ids` are the client's until it closes. */
  claim: (client: C, ids: readonly string[]) => void
  /** The client closed: its person ids are free. */
  release: (client: C) => void
}

export function firehoseSpeakers<C> (holderOf: (room: RoomName, id: string) => string | undefined): FirehoseSpeakers<C> {
  const users = new Map<string, C>()
  const byClient = new Map<C, Set<string>>()
  return {
    refusal: (client, room, ids) => {
      const mine = byClient.get(client) ?? new Set<string>()
      let added = 0
      for (const id of ids) {
        if (isCompanionId(id)) {
          const holder = holderOf(room, id)
          if (holder !== undefined) return `${id} is a companion that is here (peer ${holder} presents its card): a firehose client may speak as a person, or as a companion that is not here`
          continue
        }
        const user = users.get(id)
        if (user !== undefined && user !== client) return `${id} is in use by another firehose connection: speak as another person id`
        if (user === undefined) added++
      }
      if (mine.size + added > MAX_PERSONS_PER_CLIENT) return `a firehose connection speaks as at most ${MAX_PERSONS_PER_CLIENT} person ids`
      return undefined
    },
    claim: (client, ids) => {
      for (const id of ids) {
        if (isCompanionId(id) || users.has(id)) continue
        users.set(id, client)
        const mine = byClient.get(client) ?? new Set<string>()
        mine.add(id)
        byClient.set(client, mine)
      }
    },
    release: (client) => {
      for (const id of byClient.get(client) ?? []) users.delete(id)
      byClient.delete(client)
    }
  }
}
