import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { messageSend } from '../../protocol/build.ts'
import {
  MAX_SEALED_TEXT_BYTES, checkPassphrase, decodeSealed, fromBase64Url, openSealed, prepareSealed, roomKeyFromPassphrase, roomKeyFromSecret, seal, toBase64Url
} from '../../protocol/private-rooms.ts'
import { companionAgent, isPrivateRoom, parseRoomName, parseTopicName, roomName, roomOfAgent, topicName } from '../../protocol/rooms.ts'
import { MAX_PAYLOAD_BYTES } from '../../protocol/topics.ts'
import { historyLines } from '../../protocol/history-lines.ts'
import type { HistoryPage } from '../../protocol/relay-api.ts'

const TEAM = roomName('~team')
const line = JSON.stringify(messageSend({ from: 'companion_kyoko', to: ['companion_aya'], message: 'the honey is ready' }))

describe('private room names', () => {
  it('a name starting with ~ is a private room, with topics and an agent of its own', () => {
    assert.deepEqual(parseRoomName('~Team'), { ok: true, room: '~team' })
    assert.equal(isPrivateRoom(TEAM), true)
    assert.equal(isPrivateRoom(roomName('team')), false)
    assert.equal(topicName(TEAM, 'messages'), 'kotoba/room/~team/messages')
    assert.deepEqual(parseTopicName('kotoba/room/~team/states'), { room: '~team', topic: 'states' })
    assert.equal(roomOfAgent(companionAgent(TEAM)), '~team')
    for (const bad of ['~', '~~team', 'te~am', '~team~']) assert.equal(parseRoomName(bad).ok, false, bad)
  })
})

describe('a private room\'s key', () => {
  it('comes from the passphrase and the room, the same everywhere; its secret gives it back', async () => {
    const a = await roomKeyFromPassphrase(TEAM, 'correct horse battery staple')
    const b = await roomKeyFromPassphrase(TEAM, 'correct horse battery staple')
    assert.equal(a.secret, b.secret)
    assert.equal(a.secret.length, 43)
    assert.notEqual((await roomKeyFromPassphrase(roomName('~other'), 'correct horse battery staple')).secret, a.secret, 'another room, another key')
    assert.notEqual((await roomKeyFromPassphrase(TEAM, 'correct horse battery stapler')).secret, a.secret)
    const again = await roomKeyFromSecret(TEAM, a.secret)
    const sealed = await seal(a, 'messages', line)
    assert.deepEqual(await openSealed(again, 'messages', sealed.payload), { ok: true, text: line })
  })

  it('refuses a short passphrase, a bad secret and a room that is not private, saying why', async () => {
    assert.match(checkPassphrase('short').ok ? '' : (checkPassphrase('short') as { message: string }).message, /at least 8 characters/)
    await assert.rejects(roomKeyFromPassphrase(TEAM, 'short'), { name: 'TypeError', message: /at least 8 characters/ })
    await assert.rejects(roomKeyFromPassphrase(roomName('team'), 'long enough words'), { message: /room team is not private/ })
    for (const bad of ['', 'abc', 'not base64 at all!', toBase64Url(new Uint8Array(16))]) {
      await assert.rejects(roomKeyFromSecret(TEAM, bad), { name: 'TypeError', message: /32 bytes in base64url/ }, bad)
    }
  })
})

describe('sealed payloads', () => {
  it('travel as {"sealed": base64url}, never the text, and differ each time', async () => {
    const key = await roomKeyFromPassphrase(TEAM, 'correct horse battery staple')
    const one = await seal(key, 'messages', line)
    const two = await seal(key, 'messages', line)
    assert.deepEqual(Object.keys(JSON.parse(one.text)), ['sealed'])
    assert.notEqual(one.text, two.text, 'a fresh IV each time')
    assert.doesNotMatch(one.text, /honey|kyoko/)
    const decoded = decodeSealed(one.bytes)
    assert.equal(decoded.ok, true)
  })

  it('cannot be opened with another key, on another topic or room, or changed by one bit', async () => {
    const key = await roomKeyFromPassphrase(TEAM, 'correct horse battery staple')
    const wrong = await roomKeyFromPassphrase(TEAM, 'another passphrase entirely')
    const sealed = await seal(key, 'messages', line)
    const unreadable = /cannot be opened with this room's key/
    const failed = async (opened: Promise<{ ok: boolean, message?: string }>): Promise<string> => {
      const result = await opened
      assert.equal(result.ok, false)
      return result.message ?? ''
    }
    assert.match(await failed(openSealed(wrong, 'messages', sealed.payload)), unreadable)
    assert.match(await failed(openSealed(key, 'actions', sealed.payload)), unreadable)
    const elsewhere = await roomKeyFromSecret(roomName('~elsewhere'), key.secret)
    assert.match(await failed(openSealed(elsewhere, 'messages', sealed.payload)), unreadable, 'the same secret in another room')
    const bytes = fromBase64Url(sealed.payload.sealed)!
    bytes[20] ^= 1
    assert.match(await failed(openSealed(key, 'messages', { sealed: toBase64Url(bytes) })), unreadable)
    assert.match(await failed(openSealed(key, 'messages', { sealed: 'AAAA' })), /too short/)
  })

  it('are as large as a payload may be, and a relay checks their shape only', async () => {
    const key = await roomKeyFromPassphrase(TEAM, 'correct horse battery staple')
    const largest = await seal(key, 'messages', 'x'.repeat(MAX_SEALED_TEXT_BYTES))
    assert.ok(largest.bytes.byteLength <= MAX_PAYLOAD_BYTES, `${largest.bytes.byteLength} bytes`)
    await assert.rejects(seal(key, 'messages', 'x'.repeat(MAX_SEALED_TEXT_BYTES + 1)), { name: 'TypeError', message: /a private room's limit/ })
    for (const [bad, why] of [[{ sealed: 'a b' }, /base64url/], [{ sealed: 'AAAA' }, /too short/], [{ sealed: 'A'.repeat(40), extra: 1 }, /sealed payloads/], [line, /sealed payloads/]] as const) {
      const prepared = prepareSealed('messages', typeof bad === 'string' ? JSON.parse(bad) : bad)
      assert.equal(prepared.ok, false)
      if (!prepared.ok) assert.match(prepared.message, why)
    }
    assert.equal(decodeSealed(new Uint8Array([0xff, 0xfe])).ok, false)
    assert.equal(prepareSealed('messages', JSON.parse(largest.text)).ok, true)
  })
})

describe('a private room\'s history', () => {
  it('its lines open with the key; one sealed with another is told, not shown', async () => {
    const key = await roomKeyFromPassphrase(TEAM, 'correct horse battery staple')
    const other = await roomKeyFromPassphrase(TEAM, 'another passphrase entirely')
    const entry = async (k: typeof key, seq: number, kind = 'line'): Promise<HistoryPage['entries'][number]> =>
      ({ seq, time: seq, kind: kind as 'line', line: null, peer: 'p', payload: (await seal(k, 'messages', line)).payload })
    const page: HistoryPage = { room: TEAM, entries: [await entry(key, 1), await entry(other, 2), await entry(key, 3, 'action')], more: false, next: 3 }
    let unreadable = 0
    const lines = await historyLines(page, { key, onUnreadable: () => { unreadable++ } })
    assert.deepEqual(lines.map(l => [l.time, l.message.params.message]), [[1, 'the honey is ready']])
    assert.equal(unreadable, 1)
    assert.deepEqual(await historyLines(page), [], 'without the key, no line')
  })
})
