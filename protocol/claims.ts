/**
 * Who is who: a companion id belongs to the peer that presents its card
 * (GossipSub signs every message with its author's peer key, so every node
 * knows who really sent one). The first peer seen presenting an id holds it
 * while it goes on presenting it; a second peer presenting the same id is a
 * twin, and refused. What a payload speaks as (its `from`) is checked
 * against the holder. Pure: no libp2p, no clock.
 */
import type { TopicPayloads } from './payloads.ts'
import { isQuery } from './payloads.ts'
import type { Topic } from './topics.ts'
import { isCompanionId } from './ids.ts'

/** A peer presenting a companion id another peer holds. */
export interface Twin { peer: string, id: string, holder: string }

export interface IdClaims {
  /**
   * Takes who presents which companion id now (peer id -> companion id, every
   * source together) and returns the twins: peers presenting an id that
   * another peer presented first and still presents.
   */
  update: (presented: ReadonlyMap<string, string>) => Twin[]
  /** The peer holding a companion id, if one does. */
  holder: (id: string) => string | undefined
}

export function createIdClaims (): IdClaims {
  const holders = new Map<string, string>()
  return {
    update: (presented) => {
      for (const [id, peer] of holders) if (presented.get(peer) !== id) holders.delete(id)
      const twins: Twin[] = []
      for (const [peer, id] of presented) {
        const holder = holders.get(id)
        if (holder === undefined) holders.set(id, peer)
        else if (holder !== peer) twins.push({ peer, id, holder })
      }
      return twins
    },
    holder: (id) => holders.get(id)
  }
}

/**
 * The ids a payload speaks as: the `from` of a line, an action or a query,
 * and of each vote (a state with `messageId`). A decision (states without
 * `messageId`) is one companion's judgement for everyone, aikyo's leader's
 * included: it speaks as nobody; nor does a query's result.
 */
export function speakersOf<T extends Topic> (topic: T, payload: TopicPayloads[T]): string[] {
  let ids: string[]
  switch (topic) {
    case 'messages':
    case 'actions':
      ids = [(payload as TopicPayloads['messages' | 'actions']).params.from]
      break
    case 'states':
      ids = (payload as TopicPayloads['states']).filter(s => s.params.messageId !== undefined).map(s => s.params.from)
      break
    case 'queries': {
      const query = payload as TopicPayloads['queries']
      ids = isQuery(query) ? [query.params.from] : []
      break
    }
    default:
      ids = []
  }
  return [...new Set(ids)]
}

/** The first companion id of `speakers` held by a peer other than `author`, if any (persons' ids are not claimed). */
export function impersonated (speakers: readonly string[], author: string | undefined, claims: Pick<IdClaims, 'holder'>): { id: string, holder: string } | undefined {
  for (const id of speakers) {
    if (!isCompanionId(id)) continue
    const holder = claims.holder(id)
    if (holder !== undefined && holder !== author) return { id, holder }
  }
  return undefined
}
