/** The page's first state without a framework: watched fields (web/watched-fields.ts) and NetworkState made of them. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { watchedFields } from '../../web/watched-fields.ts'
import { NetworkState } from '../../web/network-state.ts'

interface Fields { status: string, items: string[], count: number }
class Example extends watchedFields<Fields>(() => ({ status: 'starting', items: [], count: 0 })) {
  add (item: string): void { this.items = [...this.items, item] }
}

describe('watched fields', () => {
  it('start from their initial values, each instance with its own arrays and objects', () => {
    const a = new Example()
    const b = new Example()
    assert.equal(a.status, 'starting')
    a.add('x')
    assert.deepEqual(a.items, ['x'])
    assert.deepEqual(b.items, [], 'another instance keeps its own list')
    assert.deepEqual(Object.keys(a).filter(k => k !== 'watch').sort(), [], 'the values live behind accessors, not as own fields')
    assert.deepEqual({ status: a.status, count: a.count }, { status: 'starting', count: 0 })
  })

  it('tell the listeners of a field when it changes, not when it is given the value it holds', () => {
    const state = new Example()
    const told: string[] = []
    const stop = state.watch.on('status', () => { told.push(`status ${state.status}`) })
    state.watch.on('count', () => { told.push(`count ${state.count}`) })
    state.status = 'connected'
    state.status = 'connected'
    state.count++
    state.count = 1
    state.status = 'reserved'
    stop()
    state.status = 'offline'
    assert.deepEqual(told, ['status connected', 'count 1', 'status reserved'])
    assert.equal(state.status, 'offline', 'a field changes with nobody listening')
  })

  it('tell a reader each field read, so a view can make the reads reactive', () => {
    const state = new Example()
    const read: string[] = []
    void state.status
    state.watch.onRead = (key) => { read.push(key) }
    void state.status
    state.add('y')
    assert.deepEqual(read, ['status', 'items'])
  })
})

describe('NetworkState', () => {
  it('records a payload by replacing its log and counts, and says so', () => {
    const state = new NetworkState()
    const told: string[] = []
    state.watch.on('log', () => { told.push('log') })
    state.watch.on('counts', () => { told.push('counts') })
    const counts = state.counts
    state.record('messages', '{"a":1}', true)
    assert.deepEqual(told, ['log', 'counts'])
    assert.equal(state.log.length, 1)
    assert.equal(state.log[0].own, true)
    assert.equal(state.counts.messages, 1)
    assert.equal(counts.messages, 0, 'the counts before are left as they were')
  })
})
