import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { REPETITION_THRESHOLD, couldWin, lineSimilarity, nextClosingStage, outranks, repetitionScore, selectSpeaker, voteDelayMs } from '../../companion/speaker-selection.ts'
import type { Vote } from '../../companion/speaker-selection.ts'

const vote = (from: string, state: 'speak' | 'listen', importance: number, selected = false): Vote =>
  ({ from, state, importance, selected, closing: 'none' })

describe('selectSpeaker', () => {
  const cases: Array<[string, Vote[], string | undefined]> = [
    ['nobody voted', [], undefined],
    ['everyone listens', [vote('companion_a', 'listen', 0), vote('companion_b', 'listen', 0)], undefined],
    ['the most important speaker', [vote('companion_a', 'speak', 3), vote('companion_b', 'speak', 8), vote('companion_c', 'speak', 5)], 'companion_b'],
    ['selected beats a more important speak', [vote('companion_a', 'speak', 10), vote('companion_b', 'listen', 1, true)], 'companion_b'],
    ['among selected, higher importance', [vote('companion_a', 'speak', 2, true), vote('companion_b', 'speak', 6, true)], 'companion_b'],
    ['tie broken by the smaller id', [vote('companion_kyoko', 'speak', 5), vote('companion_aya', 'speak', 5)], 'companion_aya'],
    ['a second vote replaces the first', [vote('companion_a', 'speak', 9), vote('companion_b', 'speak', 5), vote('companion_a', 'listen', 0)], 'companion_b']
  ]
  for (const [name, votes, expected] of cases) {
    it(name, () => { assert.equal(selectSpeaker(votes)?.from, expected) })
  }

  it('picks the same speaker whatever order the states arrive in (2, 3 and 5 companions)', () => {
    const pool = [vote('companion_e', 'speak', 7), vote('companion_b', 'speak', 7), vote('companion_d', 'listen', 0),
      vote('companion_a', 'speak', 4), vote('companion_c', 'speak', 7)]
    for (const size of [2, 3, 5]) {
      const votes = pool.slice(0, size)
      const expected = selectSpeaker(votes)?.from
      for (let shift = 0; shift < size; shift++) {
        const rotated = [...votes.slice(shift), ...votes.slice(0, shift)]
        assert.equal(selectSpeaker(rotated)?.from, expected)
        assert.equal(selectSpeaker([...rotated].reverse())?.from, expected)
      }
    }
  })
})

describe('closing and repetition', () => {
  it('walks none -> pre-closing -> closing -> terminal and stays terminal', () => {
    assert.equal(nextClosingStage('none'), 'pre-closing')
    assert.equal(nextClosingStage('pre-closing'), 'closing')
    assert.equal(nextClosingStage('closing'), 'terminal')
    assert.equal(nextClosingStage('terminal'), 'terminal')
  })

  it('scores identical lines 1 and unrelated lines low', () => {
    assert.equal(lineSimilarity('I love tea', 'I love tea'), 1)
    assert.ok(lineSimilarity('I love green tea', 'The train leaves at noon') < 0.5)
    assert.ok(lineSimilarity('こんにちは、元気ですか', 'こんにちは、元気ですか？') > 0.8)
  })

  it('flags the last five lines as repetitive only when they are', () => {
    const looping = ['That is so fun!', 'That is so fun!!', 'that is so fun', 'That is so much fun!', 'That is so fun!']
    const varied = ['Hello everyone.', 'How was your weekend?', 'I went hiking in the hills.', 'Did it rain?', 'No, sunny all day.']
    assert.ok(repetitionScore(looping) > REPETITION_THRESHOLD)
    assert.ok(repetitionScore(varied) < REPETITION_THRESHOLD)
    assert.ok(repetitionScore(['Only one line']) === 0)
    // Only the last five count.
    assert.ok(repetitionScore([...varied, ...looping]) > REPETITION_THRESHOLD)
  })
})

describe('votes that could win (a named room)', () => {
  it('outranks follows selectSpeaker: selected first, then importance, then the smaller id; a listener outranks nobody', () => {
    assert.equal(outranks(vote('companion_b', 'listen', 0, true), vote('companion_a', 'speak', 10)), true)
    assert.equal(outranks(vote('companion_b', 'speak', 7), vote('companion_a', 'speak', 6)), true)
    assert.equal(outranks(vote('companion_a', 'speak', 6), vote('companion_b', 'speak', 6)), true)
    assert.equal(outranks(vote('companion_b', 'speak', 6), vote('companion_a', 'speak', 6)), false)
    assert.equal(outranks(vote('companion_a', 'listen', 0), vote('companion_b', 'speak', 0)), false)
    assert.equal(outranks(vote('companion_a', 'speak', 0), vote('companion_b', 'listen', 0)), true)
    // Whatever the votes, the one selectSpeaker picks outranks every other vote that counts.
    const votes = [vote('companion_a', 'speak', 3), vote('companion_b', 'listen', 0), vote('companion_c', 'speak', 8), vote('companion_d', 'speak', 8), vote('companion_e', 'listen', 2, true)]
    const winner = selectSpeaker(votes)!
    for (const other of votes) if (other !== winner) assert.equal(outranks(other, winner), false, other.from)
  })

  it('a vote could win unless another outranks it; a listener never could', () => {
    assert.equal(couldWin(vote('companion_a', 'listen', 0), []), false)
    assert.equal(couldWin(vote('companion_a', 'speak', 5), []), true)
    assert.equal(couldWin(vote('companion_a', 'speak', 5), [vote('companion_b', 'speak', 6)]), false)
    assert.equal(couldWin(vote('companion_a', 'speak', 5), [vote('companion_b', 'speak', 4), vote('companion_c', 'listen', 0)]), true)
    assert.equal(couldWin(vote('companion_a', 'speak', 5), [vote('companion_a', 'speak', 9)]), true, 'its own earlier vote does not count against it')
  })

  it('better votes are due first, all within the first third of the window', () => {
    const window = 3000
    assert.equal(voteDelayMs(vote('companion_a', 'listen', 0, true), 0.9, window), 0)
    assert.equal(voteDelayMs(vote('companion_a', 'speak', 10), 0, window), 0)
    assert.equal(voteDelayMs(vote('companion_a', 'speak', 9), 0.5, window), Math.round(1.5 * window / 33))
    assert.ok(voteDelayMs(vote('companion_a', 'speak', 8), 0.99, window) < voteDelayMs(vote('companion_b', 'speak', 7), 0, window))
    assert.ok(voteDelayMs(vote('companion_a', 'speak', 0), 0.999, window) <= window / 3)
  })
})
