/** Pure logic behind the page: @mentions and avatars. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { avatarFor } from '../../web/avatar.ts'
import { mentionedIds } from '../../web/mentions.ts'

const people = [
  { id: 'companion_aya_k3f9', name: 'Aya' },
  { id: 'companion_ren_a1b2', name: 'Ren' },
  { id: 'companion_kyo_zz00', name: 'Kyoko Sato' },
  { id: 'companion_ayaka_q1q1', name: 'Ayaka' }
]

describe('mentionedIds', () => {
  const cases: Array<[string, string, string[]]> = [
    ['none', 'hello everyone', []],
    ['one, any case', 'hi @aya!', ['companion_aya_k3f9']],
    ['several, in order, once each', '@Ren and @Aya, and @ren again', ['companion_ren_a1b2', 'companion_aya_k3f9']],
    ['a name with a space, squashed', '@KyokoSato hello', ['companion_kyo_zz00']],
    ['punctuation after the name', "@Aya's tea", ['companion_aya_k3f9']],
    ['the longest name wins', '@Ayaka2 hi', ['companion_ayaka_q1q1']],
    ['an exact shorter name still wins', '@Aya hi', ['companion_aya_k3f9']],
    ['by id', '@companion_ren_a1b2 hi', ['companion_ren_a1b2']],
    ['unknown names are ignored', '@Nobody hi', []],
    ['an e-mail address is not a mention', 'mail me at x@aya.org', []]
  ]
  for (const [name, text, expected] of cases) it(name, () => { assert.deepEqual(mentionedIds(text, people), expected) })
})

describe('avatarFor', () => {
  it('is the same for the same id, different for different ids, and mirrored', () => {
    assert.deepEqual(avatarFor('companion_aya_k3f9'), avatarFor('companion_aya_k3f9'))
    const ids = Array.from({ length: 50 }, (_, i) => `companion_x_${i}`)
    const faces = new Set(ids.map(id => JSON.stringify(avatarFor(id))))
    assert.ok(faces.size >= 48, `${faces.size} different faces for 50 ids`)
    for (const id of ids) {
      const { cells, hue } = avatarFor(id)
      assert.ok(cells.length > 0 && hue >= 0 && hue < 360)
      const set = new Set(cells.map(([x, y]) => `${x},${y}`))
      for (const [x, y] of cells) assert.ok(set.has(`${4 - x},${y}`), 'symmetric')
    }
  })
})
