/**
 * Who gets what from the firehose: its clients, each with its filter (the
 * rooms it watches, topics, senders, addressees), and delivering an event to
 * every client whose filter takes it. A v0 client gets the payloads of its
 * room as they are; a v1 client gets each in an envelope. The rooms a client
 * watches are carried by the relay for as long as it watches them.
 */
import type { WebSocket } from 'ws'
import type { RoomName } from '../protocol/rooms.ts'
import type { FirehoseClient, RoomFilter } from './firehose-client.ts'
import { eventFrame, matchesFilter } from './firehose-protocol.ts'
import type { Filter, FirehoseEvent } from './firehose-protocol.ts'
import type { FirehoseRooms } from './firehose-protocol.ts'

export class Subscriptions {
  readonly #clients = new Map<WebSocket, FirehoseClient>()
  readonly #rooms: FirehoseRooms

  constructor (rooms: FirehoseRooms) {
    this.#rooms = rooms
  }

  get size (): number { return this.#clients.size }
  clients (): IterableIterator<FirehoseClient> { return this.#clients.values() }

  add (client: FirehoseClient): void {
    this.#clients.set(client.ws, client)
  }

  /** The client is gone: the rooms it watched are released. */
  remove (client: FirehoseClient): void {
    this.#clients.delete(client.ws)
    for (const room of client.filter.rooms) this.#rooms.release(room)
  }

  /**
   * Gives a client a new filter, carrying the rooms it now watches and
   * releasing those it no longer does; if the relay cannot carry one of them,
   * the client keeps its old filter and is told why.
   */
  setFilter (client: FirehoseClient, filter: Filter): boolean {
    const next: RoomFilter = { ...filter, rooms: filter.rooms ?? [client.home] }
    const added = next.rooms.filter(room => !client.filter.rooms.includes(room))
    const taken: RoomName[] = []
    for (const room of added) {
      const wanted = this.#rooms.want(room)
      if (!wanted.ok) {
        for (const r of taken) this.#rooms.release(r)
        client.sendError('too-many-rooms', `room ${room}: ${wanted.message}`)
        return false
      }
      taken.push(room)
    }
    for (const room of client.filter.rooms) if (!next.rooms.includes(room)) this.#rooms.release(room)
    client.filter = next
    return true
  }

  /** Sends an event to every client that wants it (but `except`, which published it). */
  deliver (event: FirehoseEvent, except?: FirehoseClient): void {
    let envelope: string | undefined
    for (const client of this.#clients.values()) {
      if (client === except) continue
      if (client.version === 0) {
        if (event.room === client.home) client.send(event.json)
      } else if (matchesFilter(client.filter, event)) client.send(envelope ??= eventFrame(event))
    }
  }
}
