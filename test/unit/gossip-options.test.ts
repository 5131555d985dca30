import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { gossipOptions } from '../../p2p/gossip.ts'
import { DEFAULT_ROOM } from '../../protocol/rooms.ts'

describe('GossipSub options', () => {
  const fastId = gossipOptions({ room: DEFAULT_ROOM }).fastMsgIdFn!
  const rpc = (from: number[], seqno: number[], data = 'x') =>
    ({ from: Uint8Array.from(from), seqno: Uint8Array.from(seqno), topic: 'messages', data: new TextEncoder().encode(data) })

  it('the fast message id is the message id: author and sequence number, whatever the data', () => {
    assert.equal(fastId(rpc([1, 2, 3], [0, 0, 7], 'a')), fastId(rpc([1, 2, 3], [0, 0, 7], 'b')))
    assert.notEqual(fastId(rpc([1, 2, 3], [0, 0, 7])), fastId(rpc([1, 2, 3], [0, 0, 8])))
    assert.notEqual(fastId(rpc([1, 2, 3], [0, 0, 7])), fastId(rpc([1, 2, 4], [0, 0, 7])))
  })

  it('moving a byte from author to sequence number gives another id', () => {
    assert.notEqual(fastId(rpc([1, 2], [3])), fastId(rpc([1], [2, 3])))
  })

  it('a message without author or sequence number does not share an id with one that has them', () => {
    assert.notEqual(fastId({ topic: 'messages', data: new Uint8Array() }), fastId(rpc([], [])))
  })
})
