import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_DIRECTORY_BYTES, MAX_ROSTER, checkRoster, decodeDirectoryMessage, encodeDirectoryMessage } from '../../protocol/directory.ts'
import type { DirectoryMessage } from '../../protocol/directory.ts'

const card = { id: 'companion_aya', name: 'Aya', personality: 'kind', story: 'a story', sample: 'hi' }
const enc = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

describe('the room directory\'s messages', () => {
  it('round-trips the four messages', () => {
    const messages: DirectoryMessage[] = [
      { type: 'announce', addrs: ['/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWA'], card },
      { type: 'announce', addrs: [], card: null },
      { type: 'roster', for: '12D3KooWB', peers: [{ peer: '12D3KooWA', addrs: [], card }] },
      { type: 'leave' },
      { type: 'gone', peers: ['12D3KooWA'] }
    ]
    for (const m of messages) assert.deepEqual(decodeDirectoryMessage(encodeDirectoryMessage(m)), m)
  })

  it('keeps exactly a card\'s five fields', () => {
    const decoded = decodeDirectoryMessage(enc({ type: 'announce', addrs: [], card: { ...card, extra: 'x'.repeat(100) } }))
    assert.deepEqual(decoded, { type: 'announce', addrs: [], card })
  })

  it('refuses anything else', () => {
    const bad: unknown[] = [
      { type: 'announce', addrs: 'x', card: null },
      { type: 'announce', addrs: [], card: { name: 'no id' } },
      { type: 'hello' },
      { type: 'roster', peers: [] },
      { type: 'roster', for: 'p', peers: Array.from({ length: MAX_ROSTER + 1 }, (_, i) => ({ peer: `p${i}`, addrs: [], card: null })) },
      { type: 'announce', addrs: Array.from({ length: 17 }, () => '/ip4/1.2.3.4/tcp/1'), card: null },
      [], null, 'announce'
    ]
    for (const value of bad) assert.equal(decodeDirectoryMessage(enc(value)), undefined, JSON.stringify(value).slice(0, 80))
    assert.equal(decodeDirectoryMessage(new Uint8Array([0xff, 0xfe])), undefined, 'not UTF-8')
    assert.equal(decodeDirectoryMessage(new TextEncoder().encode('{not json')), undefined)
    assert.equal(decodeDirectoryMessage(enc({ type: 'announce', addrs: [], card: { ...card, story: 'x'.repeat(MAX_DIRECTORY_BYTES) } })), undefined, 'too large')
  })

  it('checks a roster that came another way (a relay\'s HTTP answer): entries only, at most MAX_ROSTER', () => {
    const good = { peer: '12D3KooWA', addrs: ['/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWR/p2p-circuit/webrtc/p2p/12D3KooWA'], card }
    assert.deepEqual(checkRoster([good, { peer: '' }, 'x', null, { ...good, card: { ...card, extra: 1 } }]), [good, good])
    assert.equal(checkRoster(Array.from({ length: MAX_ROSTER + 5 }, () => good)).length, MAX_ROSTER)
  })
})
