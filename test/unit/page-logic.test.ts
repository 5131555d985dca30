/** Pure logic behind the page: @mentions, avatars, and the cookie that asks for threads. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { avatarFor } from '../../web/avatar.ts'
import { mentionedIds } from '../../web/mentions.ts'
import { asksForThreads, threadsCookie } from '../../protocol/relay-api.ts'

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

describe('the threads cookie (a model in the tab asks the relay for a cross-origin isolated page)', () => {
  it('is set for a year on the whole site, and cleared', () => {
    assert.equal(threadsCookie(true), 'kotoba-threads=1; path=/; max-age=31536000; samesite=strict')
    assert.equal(threadsCookie(false), 'kotoba-threads=; path=/; max-age=0; samesite=strict')
  })

  it('is read from a Cookie header among others, and only when set to 1', () => {
    assert.equal(asksForThreads('kotoba-threads=1'), true)
    assert.equal(asksForThreads('a=b; kotoba-threads=1; c=d'), true)
    for (const header of [undefined, '', 'kotoba-threads=', 'kotoba-threads=0', 'xkotoba-threads=1', 'kotoba-threads=11', 'a=kotoba-threads=1']) {
      assert.equal(asksForThreads(header), false, String(header))
    }
  })
})
