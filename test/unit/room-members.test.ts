import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_MEMBERS } from '../../protocol/directory.ts'
import type { RosterEntry } from '../../protocol/directory.ts'
import { OWN_WORD_MS, RoomMembers } from '../../protocol/room-members.ts'

const card = (id: string) => ({ id, name: id, personality: 'p', story: 's', sample: 'x' })
const entry = (peer: string, extra: Partial<RosterEntry> = {}): RosterEntry => ({ peer, addrs: [`/ip4/10.0.0.1/tcp/1/p2p/${peer}`], card: card(`companion_${peer}`), ...extra })
const nobody = (): boolean => false

describe('a room\'s members (one table for nodes and relays)', () => {
  it('keeps a peer\'s announcement as its word, and says what it was before', () => {
    const members = new RoomMembers('self')
    const first = members.announce('a', ['/x'], card('companion_a'), 10)
    assert.equal(first?.before, undefined)
    const again = members.announce('a', ['/y'], null, 20)
    assert.deepEqual(again?.before, { peer: 'a', addrs: ['/x'], card: card('companion_a'), heard: 10 })
    assert.deepEqual(members.get('a'), { peer: 'a', addrs: ['/y'], card: null, heard: 20 })
  })

  it('never lists the node keeping it', () => {
    const members = new RoomMembers('self')
    assert.equal(members.announce('self', [], null, 1), undefined)
    members.roster([entry('self')], 1, true)
    members.vouch([{ peer: 'self', addrs: [], card: card('companion_self') }], 1)
    assert.equal(members.size, 0)
  })

  const rosterCases: Array<[string, boolean, number, RosterEntry, string[], string]> = [
    // name, for us, when the known peer was heard, roster entry, named, the addrs kept
    ['someone else\'s roster adds an unknown peer, names nobody', false, -1, entry('b'), [], '/ip4/10.0.0.1/tcp/1/p2p/b'],
    ['someone else\'s roster leaves a known peer as it was', false, 0, entry('b'), [], '/own'],
    ['a roster for us renews a peer heard long ago and names it', true, 0, entry('b'), ['b'], '/ip4/10.0.0.1/tcp/1/p2p/b'],
    ['a roster for us names, but does not overwrite, a peer that just spoke for itself', true, 10_000 - OWN_WORD_MS + 1, entry('b'), ['b'], '/own'],
    ['an aikyo node is only added, never named (nobody links to it from a roster)', true, -1, entry('b', { aikyo: true }), [], '/ip4/10.0.0.1/tcp/1/p2p/b']
  ]
  for (const [name, forUs, heardAt, rosterEntry, named, addr] of rosterCases) {
    it(name, () => {
      const members = new RoomMembers('self')
      if (heardAt >= 0) members.announce('b', ['/own'], card('companion_b'), heardAt)
      const result = members.roster([rosterEntry], 10_000, forUs)
      assert.deepEqual(result.map(m => m.peer), named)
      assert.deepEqual(members.get('b')?.addrs, [addr])
    })
  }

  it('a vouch lists aikyo nodes, except those the relay vouches for itself', () => {
    const members = new RoomMembers()
    members.vouch([{ peer: 'k', addrs: [], card: card('companion_k') }, { peer: 'mine', addrs: [], card: card('companion_m') }], 5, peer => peer === 'mine')
    assert.deepEqual(members.all(), [{ peer: 'k', addrs: [], card: card('companion_k'), aikyo: true, heard: 5 }])
  })

  it('leave, gone (unless still connected) and silence take peers out', () => {
    const members = new RoomMembers()
    for (const [peer, at] of [['a', 1], ['b', 1], ['c', 1], ['d', 100]] as const) members.announce(peer, [], null, at)
    assert.equal(members.remove('a'), true)
    members.gone(['b', 'c'], peer => peer === 'c')
    assert.deepEqual(members.peers(), ['c', 'd'])
    members.expire(50, nobody)
    assert.deepEqual(members.peers(), ['d'])
  })

  it(`keeps at most ${MAX_MEMBERS} peers; known ones are still renewed`, () => {
    const members = new RoomMembers()
    for (let i = 0; i < MAX_MEMBERS; i++) members.announce(`p${i}`, [], null, 1)
    assert.equal(members.announce('late', [], null, 2), undefined)
    members.roster([entry('late2')], 2, false)
    assert.equal(members.has('late2'), false)
    assert.equal(members.announce('p0', [], null, 3)?.member.heard, 3)
    assert.equal(members.size, MAX_MEMBERS)
  })
})
