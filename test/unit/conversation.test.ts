/**
 * The built-in mind in a conversation: 60 lines among four companions whose
 * cards this test writes (one in Japanese, one in aikyo's "You are …" style)
 * and a person who asks them things, run turn by turn by the protocol's
 * rules (test/helpers/brain-room.ts), for several seeds.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import nlp from 'compromise'
import { isJapanese, readLine } from '../../companion/builtin-brain.ts'
import { isTopicalWord, topicCore } from '../../companion/mind/reading.ts'
import { storyOf } from '../../companion/mind/story.ts'
import { formatTranscript, runBrainRoom } from '../helpers/brain-room.ts'
import type { RoomLine } from '../helpers/brain-room.ts'
import { CARDS, PERSON, SCRIPT } from '../helpers/sample-room.ts'

const companionLines = (lines: RoomLine[]): RoomLine[] => lines.filter(l => l.thought !== undefined)

describe('the built-in mind in a conversation (60 lines, cards written here, a person asking)', () => {
  for (const seed of ['one', 'two', 'three']) {
    it(`seed ${seed}`, async () => {
      const lines = await runBrainRoom({ cards: CARDS, person: PERSON, script: SCRIPT, lines: 60, seed, turnLimit: 5 })
      const story = `\n${formatTranscript(lines)}`
      assert.equal(lines.length, 60)

      // No line said twice.
      const texts = lines.filter(l => l.from !== PERSON.id).map(l => l.text)
      assert.equal(new Set(texts).size, texts.length, `a line came twice:${story}`)

      // Every topic is a content word or phrase: no function word, adverb, name or id.
      const names = [...CARDS.map(c => c.name), PERSON.name]
      for (const { thought } of companionLines(lines)) {
        const topic = thought?.topic
        if (topic === undefined || /[\p{Script=Han}\p{Script=Katakana}\p{Script=Hiragana}]/u.test(topic)) continue
        for (const word of topicCore(topic).split(' ')) {
          assert.ok(isTopicalWord(word, names), `"${topic}" is no topic:${story}`)
          assert.equal(nlp(word).has('#Adverb'), false, `"${topic}" is an adverb:${story}`)
          assert.doesNotMatch(word, /_/, `"${topic}" is an id:${story}`)
        }
      }

      // A question put to a companion is answered by it, with an answer of its kind about what was asked.
      const asked = lines.filter(l => l.scripted?.asks !== undefined)
      assert.ok(asked.length >= 5, `only ${asked.length} questions were asked:${story}`)
      for (const question of asked) {
        const answer = lines[lines.indexOf(question) + 1]
        if (answer === undefined) continue
        const who = CARDS.find(c => c.name === question.scripted!.asks)!
        assert.equal(answer.from, who.id, `"${question.text}" was answered by ${answer.name}:${story}`)
        assert.equal(answer.thought?.shape, 'answer', `"${question.text}" got no answer:${story}`)
        assert.equal(answer.thought?.answered, readLine(question.text, names).question)
        const expected = SCRIPT.find(s => s.text === question.text)?.expect
        if (expected !== undefined) assert.match(answer.text, expected, `"${question.text}":${story}`)
      }

      // Each companion speaks of its own story.
      for (const card of CARDS) {
        const facts = storyOf(card).facts.map(f => f.text)
        assert.ok(lines.some(l => l.from === card.id && facts.some(f => l.text.includes(f))), `${card.name} never told of its story:${story}`)
      }

      // Japanese in, Japanese out.
      for (const line of lines.filter(l => l.from === PERSON.id && isJapanese(l.text))) {
        const answer = lines[lines.indexOf(line) + 1]
        if (answer !== undefined) assert.ok(isJapanese(answer.text), `"${line.text}" was answered in English: ${answer.text}`)
      }

      // Conversations come to rest: the person spoke again only after each rested.
      assert.ok(lines.filter(l => l.from === PERSON.id).length >= 6, `the conversations did not come to rest:${story}`)
    })
  }
})
