import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parseCommandLine as parseHeadless } from '../../headless/options.ts'
import { parseCommandLine as parseRelay, parseCompanionSpec } from '../../relay/options.ts'
import {
  DEFAULT_ROOM, companionAgent, directoryTopicName, parseRoomName, parseTopicName, roomName, roomOfAgent, roomOfTopicName, roomTopicNames, topicName
} from '../../protocol/rooms.ts'
import { KOTOBA_AGENT, TOPICS } from '../../protocol/topics.ts'
import { readRoom, readRoomSecret, roomUrl } from '../../web/settings.ts'

describe('room names', () => {
  it('takes 1-64 characters of a-z 0-9 - _, case-folded', () => {
    for (const [given, room] of [['blue', 'blue'], ['Class-3B', 'class-3b'], ['a', 'a'], ['x_y-9', 'x_y-9'], ['z'.repeat(64), 'z'.repeat(64)]]) {
      assert.deepEqual(parseRoomName(given), { ok: true, room }, given)
    }
  })

  it('refuses anything else with the rule, never another room', () => {
    for (const bad of ['', ' ', 'two words', 'dot.ted', 'slash/ed', 'ünïcode', 'semi;colon', 'z'.repeat(65), 'tab\t', 'emoji😀', '\u212A']) {
      const parsed = parseRoomName(bad)
      assert.equal(parsed.ok, false, JSON.stringify(bad))
      if (!parsed.ok) assert.match(parsed.message, /a room name has 1 to 64 characters, each a-z, 0-9, - or _ \(a private room's name starts with ~\); got /)
    }
    for (const notString of [undefined, null, 42, ['blue'], { room: 'blue' }]) assert.equal(parseRoomName(notString).ok, false)
    assert.throws(() => roomName('no way'), { name: 'TypeError', message: /a room name has/ })
  })
})

describe('room topics', () => {
  it('the default room is aikyo\'s five topics, unchanged, and a directory topic of ours', () => {
    assert.deepEqual(TOPICS.map(t => topicName(DEFAULT_ROOM, t)), [...TOPICS])
    assert.equal(directoryTopicName(DEFAULT_ROOM), 'kotoba/directory')
  })

  it('a named room has topics of its own, and each maps back to its room and topic', () => {
    const blue = roomName('blue')
    assert.deepEqual(roomTopicNames(blue), [
      'kotoba/room/blue/messages', 'kotoba/room/blue/actions', 'kotoba/room/blue/states',
      'kotoba/room/blue/queries', 'kotoba/room/blue/query-results', 'kotoba/room/blue/directory'
    ])
    for (const topic of TOPICS) {
      assert.deepEqual(parseTopicName(topicName(blue, topic)), { room: blue, topic })
      assert.deepEqual(parseTopicName(topic), { room: DEFAULT_ROOM, topic })
    }
    for (const name of roomTopicNames(blue)) assert.equal(roomOfTopicName(name), blue)
    assert.equal(roomOfTopicName('kotoba/directory'), DEFAULT_ROOM)
  })

  it('knows no room in other topics', () => {
    for (const junk of ['kotoba/room/Blue/messages', 'kotoba/room/lobby/messages', 'kotoba/room/blue/gossip', 'kotoba/room//messages',
      'kotoba/room/blue', 'kotoba/room/a b/messages', 'other/messages', `kotoba/room/${'z'.repeat(65)}/messages`]) {
      assert.equal(parseTopicName(junk), undefined, junk)
      assert.equal(roomOfTopicName(junk), undefined, junk)
    }
    assert.equal(parseTopicName('kotoba/room/blue/directory'), undefined, 'the directory is not one of the five')
  })

  it('a companion node says its room in its agent version; a peer of another make is in the default room; a relay in none', () => {
    assert.equal(roomOfAgent(companionAgent(roomName('blue'))), 'blue')
    assert.equal(roomOfAgent(companionAgent(DEFAULT_ROOM)), DEFAULT_ROOM)
    assert.equal(roomOfAgent(`${companionAgent(roomName('blue'))} browser/1`), 'blue')
    assert.equal(roomOfAgent('@aikyo/server js-libp2p/2.8'), DEFAULT_ROOM)
    assert.equal(roomOfAgent(undefined), DEFAULT_ROOM)
    assert.equal(roomOfAgent(KOTOBA_AGENT), undefined)
  })
})

describe('rooms on every way in', () => {
  it('the page reads ?room= (none: the default room) and links to other rooms keeping its settings', () => {
    assert.deepEqual(readRoom(''), { ok: true, room: DEFAULT_ROOM })
    assert.deepEqual(readRoom('?room=Blue'), { ok: true, room: 'blue' })
    assert.equal(readRoom('?room=no%20way').ok, false)
    assert.equal(readRoom('?room=').ok, false)
    assert.equal(roomUrl('http://h:1/?room=blue&stun=x', roomName('green')), 'http://h:1/?room=green&stun=x')
    assert.equal(roomUrl('http://h:1/?room=blue', DEFAULT_ROOM), 'http://h:1/')
    // A private room's key goes after #, never to a server, and no other room's link carries it.
    assert.equal(roomUrl('http://h:1/?companion=aya', roomName('~team'), 'S3cret'), 'http://h:1/?companion=aya&room=~team#key=S3cret')
    assert.equal(roomUrl('http://h:1/?room=~team#key=S3cret', roomName('blue')), 'http://h:1/?room=blue')
    assert.equal(readRoomSecret('#key=S3cret'), 'S3cret')
    assert.equal(readRoomSecret(''), undefined)
    assert.equal(readRoomSecret('#other=1'), undefined)
  })

  it('headless --room, checked', async () => {
    const card = 'docs/cards/kyoko.json'
    const parsed = await parseHeadless(['--card', card, '--room', 'Blue'], {})
    assert.equal(!parsed.help && parsed.options.room, 'blue')
    const byEnv = await parseHeadless(['--card', card], { KOTOBA_ROOM: 'green' })
    assert.equal(!byEnv.help && byEnv.options.room, 'green')
    const none = await parseHeadless(['--card', card], {})
    assert.equal(!none.help && none.options.room, DEFAULT_ROOM)
    await assert.rejects(parseHeadless(['--card', card, '--room', 'no way'], {}), { name: 'TypeError', message: /^--room: a room name has/ })
    // A private room needs its key, from a file; no other room takes one.
    await assert.rejects(parseHeadless(['--card', card, '--room', '~team'], {}), { message: /--room ~team is private: give its key with --room-key FILE/ })
    await assert.rejects(parseHeadless(['--card', card, '--room-key', card], {}), { message: /--room-key: room lobby is not private/ })
    await assert.rejects(parseHeadless(['--card', card, '--room', '~team', '--room-key', 'no/such/file'], {}), { message: /^--room-key no\/such\/file: ENOENT/ })
  })

  it('relay --companion FILE[@ROOM] and --max-rooms, checked', () => {
    assert.deepEqual(parseCompanionSpec('kyoko.json'), { file: 'kyoko.json', room: DEFAULT_ROOM })
    assert.deepEqual(parseCompanionSpec('cards/kyoko.json@Blue'), { file: 'cards/kyoko.json', room: 'blue' })
    assert.deepEqual(parseCompanionSpec('me@home.json'), { file: 'me@home.json', room: DEFAULT_ROOM }, 'an @ in a file name')
    assert.throws(() => parseCompanionSpec('kyoko.json@~team'), { message: /room ~team is private, and the relay holds no room's key/ })
    assert.deepEqual(parseCompanionSpec('a@b/kyoko.json'), { file: 'a@b/kyoko.json', room: DEFAULT_ROOM })
    assert.throws(() => parseCompanionSpec('kyoko.json@no!'), { name: 'TypeError', message: /--companion kyoko.json@no!: a room name has/ })
    assert.throws(() => parseCompanionSpec('kyoko.json@'), { name: 'TypeError', message: /a room name has/ })
    assert.throws(() => parseCompanionSpec('@blue'), { name: 'TypeError', message: /name the card file/ })
    const parsed = parseRelay(['--companion', 'k.json@blue', '--max-rooms', '3'], {})
    assert.ok(!parsed.help)
    if (!parsed.help) {
      assert.equal(parsed.options.maxRooms, 3)
      assert.equal(parsed.options.companions[0].room, 'blue')
    }
    assert.throws(() => parseRelay(['--max-rooms', '0'], {}), /maxRooms must be a positive integer/)
  })
})
