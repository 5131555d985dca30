import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { RateLimiter, matchesFilter, parseClientFrame, routingOf } from '../../relay/firehose-protocol.ts'
import { ReplayBuffer } from '../../relay/firehose-replay.ts'
import type { FirehoseEvent } from '../../relay/firehose-protocol.ts'
import type { Topic } from '../../protocol/topics.ts'
import { DEFAULT_ROOM } from '../../protocol/rooms.ts'

const event = (seq: number, topic: Topic = 'messages', sender = 'user_a', addressees: string[] = []): FirehoseEvent =>
  ({ seq, time: seq, room: DEFAULT_ROOM, topic, peer: 'firehose', json: '{}', sender, addressees })
const lobby = { rooms: [DEFAULT_ROOM] }

describe('firehose v1 parts', () => {
  it('replays what came after a seq, in order, across topics', () => {
    const buffer = new ReplayBuffer(10)
    buffer.add(event(1)); buffer.add(event(2, 'states')); buffer.add(event(3)); buffer.add(event(4, 'actions'))
    const all = buffer.since(1, lobby)
    assert.deepEqual(all.ok && all.events.map(e => e.seq), [2, 3, 4])
    const some = buffer.since(0, { ...lobby, topics: ['messages'] })
    assert.deepEqual(some.ok && some.events.map(e => e.seq), [1, 3])
  })

  it('says too old, with the oldest usable seq, once a wanted topic lost events after it', () => {
    const buffer = new ReplayBuffer(2)
    for (let seq = 1; seq <= 5; seq++) buffer.add(event(seq))
    buffer.add(event(6, 'states'))
    assert.deepEqual(buffer.since(1, lobby), { ok: false, oldest: 3 })
    assert.deepEqual(buffer.since(3, lobby).ok, true)
    // A topic that lost nothing can still replay from the start.
    const states = buffer.since(0, { ...lobby, topics: ['states'] })
    assert.deepEqual(states.ok && states.events.map(e => e.seq), [6])
  })

  it('filters by topic, sender and addressee', () => {
    const e = event(1, 'messages', 'user_a', ['companion_x', 'companion_y'])
    const cases: Array<[object, boolean]> = [
      [{}, true], [{ topics: ['states'] }, false], [{ from: ['user_a'] }, true], [{ from: ['user_b'] }, false],
      [{ to: ['companion_y'] }, true], [{ to: ['companion_q'] }, false], [{ topics: ['messages'], from: ['user_a'], to: ['companion_x'] }, true]
    ]
    for (const [filter, expected] of cases) assert.equal(matchesFilter(filter, e), expected, JSON.stringify(filter))
    assert.deepEqual(routingOf([{ params: { from: 'c1', to: ['a'] } }, { params: { from: 'c2', to: ['b'] } }]), { addressees: ['a', 'b'] })
  })

  it('allows a burst, then the rate', () => {
    const limiter = new RateLimiter(10, 3, 0)
    assert.deepEqual([0, 0, 0, 0].map(() => limiter.take(0)), [true, true, true, false])
    assert.equal(limiter.take(99), false)
    assert.equal(limiter.take(100), true)
  })

  it('checks client frames and names what is wrong', () => {
    assert.equal(parseClientFrame({ type: 'replay', since: 4 }).ok, true)
    const bad = parseClientFrame({ type: 'replay', since: -1 })
    assert.equal(bad.ok, false)
    assert.match(!bad.ok ? bad.message : '', /since/)
    assert.equal(parseClientFrame({ type: 'subscribe', topics: ['gossip'] }).ok, false)
    assert.equal(parseClientFrame({ type: 'hello', version: 2 }).ok, false)
  })
})
