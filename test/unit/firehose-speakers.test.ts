import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_PERSONS_PER_CLIENT, firehoseSpeakers } from '../../relay/firehose-speakers.ts'
import { roomName } from '../../protocol/rooms.ts'

const lobby = roomName('lobby')

describe('who a firehose client may speak as', () => {
  it('never as a companion that is here; as an absent companion or a person, yes', () => {
    const speakers = firehoseSpeakers<string>((_room, id) => id === 'companion_aya' ? 'peerA' : undefined)
    assert.match(speakers.refusal('c1', lobby, ['companion_aya'])!, /companion_aya is a companion that is here \(peer peerA/)
    assert.equal(speakers.refusal('c1', lobby, ['companion_gone']), undefined)
    assert.equal(speakers.refusal('c1', lobby, ['user_kim']), undefined)
  })

  it('a person id is one connection\'s until it closes', () => {
    const speakers = firehoseSpeakers<string>(() => undefined)
    speakers.claim('c1', ['user_kim'])
    assert.equal(speakers.refusal('c1', lobby, ['user_kim']), undefined, 'its own again')
    assert.match(speakers.refusal('c2', lobby, ['user_kim'])!, /user_kim is in use by another firehose connection/)
    speakers.release('c1')
    assert.equal(speakers.refusal('c2', lobby, ['user_kim']), undefined)
  })

  it('a connection speaks as a bounded number of person ids', () => {
    const speakers = firehoseSpeakers<string>(() => undefined)
    const ids = Array.from({ length: MAX_PERSONS_PER_CLIENT }, (_, i) => `user_${i}`)
    speakers.claim('c1', ids)
    assert.equal(speakers.refusal('c1', lobby, ['user_0']), undefined)
    assert.match(speakers.refusal('c1', lobby, ['user_new'])!, new RegExp(`at most ${MAX_PERSONS_PER_CLIENT} person ids`))
  })
})
