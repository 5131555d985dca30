import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../../protocol/build.ts'
import { decodePayload } from '../../protocol/codec.ts'
import { DEFAULT_ROOM, roomName } from '../../protocol/rooms.ts'
import type { Topic } from '../../protocol/topics.ts'
import { createLogger } from '../../p2p/logger.ts'
import { openHistory } from '../../relay/history.ts'
import type { History, HistoryLimits } from '../../relay/history.ts'

const blue = roomName('blue')
const dirs: string[] = []
const opened: History[] = []
afterEach(async () => {
  for (const h of opened.splice(0)) h.close()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function store (limits: Partial<HistoryLimits> = {}, dir?: string): Promise<{ history: History, dir: string, log: string[] }> {
  dir ??= await mkdtemp(join(tmpdir(), 'kotoba-history-'))
  dirs.push(dir)
  const log: string[] = []
  let clock = 1000
  const history = openHistory(join(dir, 'history.sqlite'), { lines: 200, bytes: 1024 * 1024, rooms: 10, ...limits }, { log: createLogger((l) => { log.push(l) }, 'debug'), now: () => ++clock })
  opened.push(history)
  return { history, dir, log }
}

/** A payload as it arrives on a topic: decoded, with its JSON text. */
function arrival (topic: Topic, json: string, peer = 'peer-a') {
  const decoded = decodePayload(topic, json)
  assert.ok(decoded.ok, json)
  const { ok: _ok, ...payload } = decoded
  return { ...payload, json, peer }
}
const line = (id: string, text = `line ${id}`) => arrival('messages', JSON.stringify(messageSend({ id, from: 'user_a', to: [], message: text })))
const action = (from: string) => arrival('actions', JSON.stringify({ jsonrpc: '2.0', method: 'action.send', params: { from, name: 'gesture', params: { gesture: 'wave' } } }))
const state = (messageId?: string) => ({ jsonrpc: '2.0', method: 'state.send', params: { from: 'companion_a', state: 'speak', importance: 5, selected: false, closing: 'none', ...(messageId === undefined ? {} : { messageId }) } })
const decision = () => arrival('states', JSON.stringify([state(), state()]))
const vote = (messageId: string) => arrival('states', JSON.stringify(state(messageId)))

describe('the rooms\' history (SQLite in the data dir)', () => {
  it('keeps lines with the actions and decisions that follow them, not votes or queries, per room', async () => {
    const { history } = await store()
    history.record(blue, line('l1'))
    history.record(blue, vote('l1'))
    history.record(blue, decision())
    history.record(blue, action('companion_a'))
    history.record(blue, arrival('queries', JSON.stringify({ jsonrpc: '2.0', method: 'query.send', id: 'q', params: { from: 'companion_a', type: 'speak' } })))
    history.record(DEFAULT_ROOM, line('other-room'))
    const page = history.page(blue, 0, 100)
    assert.deepEqual(page.entries.map(e => [e.kind, e.line]), [['line', 'l1'], ['decision', 'l1'], ['action', 'l1']])
    assert.equal(page.more, false)
    assert.deepEqual(page.entries[0].payload, JSON.parse(line('l1').json), 'the payload as it travelled')
    assert.deepEqual(history.page(DEFAULT_ROOM, 0, 100).entries.map(e => e.line), ['other-room'])
  })

  it('pages with a since cursor, oldest first', async () => {
    const { history } = await store()
    for (let i = 0; i < 7; i++) history.record(blue, line(`l${i}`))
    const first = history.page(blue, 0, 3)
    assert.deepEqual(first.entries.map(e => e.line), ['l0', 'l1', 'l2'])
    assert.equal(first.more, true)
    const second = history.page(blue, first.entries.at(-1)!.seq, 3)
    assert.deepEqual(second.entries.map(e => e.line), ['l3', 'l4', 'l5'])
    const last = history.page(blue, second.entries.at(-1)!.seq, 3)
    assert.deepEqual(last.entries.map(e => e.line), ['l6'])
    assert.equal(last.more, false)
    const json = JSON.parse(JSON.stringify(last))
    assert.equal(json.room, 'blue')
    assert.equal(json.next, last.entries[0].seq)
    assert.equal(json.entries[0].payload.params.id, 'l6', 'the payload goes out as JSON, not as a string')
  })

  it('keeps the last N lines of a room, with what belongs to them', async () => {
    const { history } = await store({ lines: 3 })
    for (let i = 0; i < 6; i++) {
      history.record(blue, line(`l${i}`))
      history.record(blue, action('companion_a'))
    }
    history.flush()
    const entries = history.page(blue, 0, 100).entries
    assert.deepEqual(entries.map(e => e.line), ['l3', 'l3', 'l4', 'l4', 'l5', 'l5'])
  })

  it('keeps a room within its bytes, dropping its oldest lines first', async () => {
    const { history } = await store({ bytes: 2000 })
    for (let i = 0; i < 10; i++) history.record(blue, line(`l${i}`, 'x'.repeat(400)))
    history.flush()
    const entries = history.page(blue, 0, 100).entries
    assert.ok(entries.reduce((n, e) => n + JSON.stringify(e.payload).length, 0) <= 2000)
    assert.deepEqual(entries.map(e => e.line), ['l6', 'l7', 'l8', 'l9'])
  })

  it('keeps at most the given number of rooms: the one written longest ago goes', async () => {
    const { history } = await store({ rooms: 2 })
    history.record(roomName('a'), line('a1'))
    history.record(roomName('b'), line('b1'))
    history.flush()
    history.record(roomName('c'), line('c1'))
    history.flush()
    assert.equal(history.page(roomName('a'), 0, 10).entries.length, 0)
    assert.equal(history.page(roomName('b'), 0, 10).entries.length, 1)
    assert.equal(history.page(roomName('c'), 0, 10).entries.length, 1)
  })

  it('survives a restart: the same entries, the same numbers, and new ones after them', async () => {
    const first = await store()
    first.history.record(blue, line('before'))
    first.history.record(blue, action('companion_a'))
    const before = first.history.page(blue, 0, 10).entries
    first.history.close()
    opened.splice(opened.indexOf(first.history), 1)
    const second = await store({}, first.dir)
    assert.deepEqual(second.history.page(blue, 0, 10).entries, before)
    second.history.record(blue, action('companion_b'))
    const after = second.history.page(blue, before.at(-1)!.seq, 10).entries
    assert.equal(after.length, 1)
    assert.equal(after[0].line, 'before', 'an action after a restart still belongs to the line before it')
  })

  it('moves a file that is not a database aside, says so, and starts afresh', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-history-'))
    await writeFile(join(dir, 'history.sqlite'), 'this is not a database, but someone\'s notes'.repeat(200))
    const { history, log } = await store({}, dir)
    history.record(blue, line('fresh'))
    assert.equal(history.page(blue, 0, 10).entries.length, 1)
    assert.match(log.join('\n'), /could not be read .* moved it to .*history\.sqlite\.unreadable-\d+/)
    assert.ok((await readdir(dir)).some(f => f.startsWith('history.sqlite.unreadable-')), 'the old file is kept')
  })
})
