/** Turn-taking over a simulated network: properties that must hold whatever order things arrive in. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_TURN_SETTINGS } from '../../companion/turn-state.ts'
import type { Judgement } from '../../companion/turn-state.ts'
import { seededRandom } from '../../companion/random.ts'
import { TurnSim } from '../helpers/turn-sim.ts'
import type { SimLine } from '../helpers/turn-sim.ts'

const A = 'companion_aya'
const B = 'companion_bo'
const C = 'companion_cy'
const USER = 'user_yamada'

/** Simulation properties over many seeds: what must hold whatever order things arrive in. */
function checkOneSpeakerPerTurn (sim: TurnSim): void {
  const companionLines = sim.lines.filter(l => l.from.startsWith('companion_'))
  const byParent = new Map<string, SimLine[]>()
  for (const l of companionLines) {
    if (l.replyTo === undefined) continue
    byParent.set(l.replyTo, [...(byParent.get(l.replyTo) ?? []), l])
  }
  for (const [parent, children] of byParent) {
    const answers = children.filter(c => sim.decisions.get(parent)?.size)
    assert.ok(answers.length <= 1, `line ${parent} got ${answers.length} companion replies: ${answers.map(c => c.from).join(', ')}`)
  }
  for (const [messageId, byNode] of sim.decisions) {
    const speakers = new Set(byNode.values())
    assert.ok(speakers.size <= 1, `nodes disagree on the speaker after ${messageId}: ${[...speakers].join(', ')}`)
  }
}

/**
 * No parallel conversations: every node ends on the same line, and the lines
 * off the final chain (written before their writer heard of an interjection)
 * are few.
 */
function checkOneConversation (sim: TurnSim, since = 0, maxOffChain = 3): void {
  const heads = new Set(sim.alive().map(n => n.state.head?.id))
  assert.equal(heads.size, 1, `nodes hang on different lines: ${[...heads].join(', ')}`)
  const chain = new Set<string>()
  for (let id: string | undefined = [...heads][0]; id !== undefined; id = sim.lines.find(l => l.id === id)?.replyTo) chain.add(id)
  const off = sim.lines.filter(l => !chain.has(l.id) && l.at >= since)
  assert.ok(off.length <= maxOffChain, `${off.length} lines off the conversation: ${off.map(l => l.id).join(', ')}`)
}

function checkRests (sim: TurnSim): void {
  for (const n of sim.alive()) {
    assert.equal(n.state.conversation.resting, true, `${n.id} is not resting`)
    assert.equal(n.state.writing, null, `${n.id} is still writing`)
  }
}

const companionsOf = (size: number): string[] => [A, B, C, 'companion_di', 'companion_ed'].slice(0, size)

describe('turn-taking simulation', () => {
  for (const size of [2, 3, 5]) {
    it(`${size} companions: exactly one speaker per turn, whatever the arrival order (40 seeds)`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const companions = companionsOf(size)
        const sim = new TurnSim({ companions, seed })
        sim.say(USER, companions, 'Hello everyone!')
        sim.run()
        checkOneSpeakerPerTurn(sim)
        checkOneConversation(sim)
        checkRests(sim)
        const after = sim.lines.filter(l => l.from !== USER).length
        assert.ok(after <= 6 + 3, `seed ${seed}: ${after} lines after the hello (turn limit 6)`)
      }
    })
  }

  it('a companion that never votes (tab closed) does not stall the conversation', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const companions = companionsOf(3)
      const sim = new TurnSim({ companions, seed })
      sim.nodes.get(companions[seed % 3])!.alive = false // present in everyone's list, silent
      sim.say(USER, companions, 'Hello everyone!')
      sim.run()
      checkOneSpeakerPerTurn(sim)
      checkRests(sim)
      const lines = sim.lines.filter(l => l.from !== USER)
      // Bounded: each turn waits at most the vote window, the grace and one line timeout.
      const { voteWindowMs, decisionGraceMs, lineTimeoutMs } = DEFAULT_TURN_SETTINGS
      assert.ok(sim.now <= (lines.length + 1) * (voteWindowMs + decisionGraceMs + lineTimeoutMs), `seed ${seed}: took ${sim.now} ms`)
    }
  })

  it('closing a tab mid-conversation: the others go on and rest', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const companions = companionsOf(3)
      const sim = new TurnSim({ companions, seed, settings: { turnLimit: 10 } })
      sim.say(USER, companions, 'Hello everyone!')
      sim.runUntil(300 + (seed * 37) % 700)
      const victim = companions[seed % 3]
      sim.kill(victim)
      sim.run()
      checkOneSpeakerPerTurn(sim)
      checkRests(sim)
      assert.ok(!sim.lines.some(l => l.from === victim && l.at > sim.now), 'the closed tab said nothing after closing')
    }
  })

  for (const [maxDelay, maxThink] of [[40, 150], [200, 20]]) {
    it(`a person interjecting mid-exchange does not start a parallel conversation (network ${maxDelay} ms, brain ${maxThink} ms)`, () => {
      let interjectedWhileWriting = 0
      for (let seed = 1; seed <= 60; seed++) {
        const companions = companionsOf(3)
        const sim = new TurnSim({ companions, seed, maxDelay, maxThink, settings: { turnLimit: 8 } })
        sim.say(USER, companions, 'Hello everyone!')
        sim.runUntil(250 + (seed * 53) % 900)
        if (sim.alive().some(n => n.state.writing !== null)) interjectedWhileWriting++
        // The page says which line its person answers; a firehose client may not (then it must come
        // after the last line reached everyone, or nobody can tell which of two came first).
        const head = sim.lines.at(-1)!
        const named = seed % 2 === 0 || sim.now - head.at < maxDelay
        const at = sim.now
        sim.say('user_kim', companions, 'Sorry to interrupt — what about dinner?', named ? head.id : undefined)
        sim.run()
        checkOneSpeakerPerTurn(sim)
        checkOneConversation(sim, at)
        checkRests(sim)
      }
      // With slow brains the person often cuts in while a companion is writing: the case that matters.
      if (maxThink >= 100) assert.ok(interjectedWhileWriting > 5, `the interjection hit a companion mid-line in only ${interjectedWhileWriting} runs`)
    })
  }

  it('repeated lines push the conversation to close before the turn limit', () => {
    const companions = companionsOf(2)
    const sim = new TurnSim({ companions, seed: 7, settings: { turnLimit: 50 }, judge: () => ({ state: 'speak', importance: 5, closing: 'none' }), write: () => 'I love the sea, the sea is lovely' })
    sim.say(USER, companions, 'Hello!')
    sim.run()
    checkRests(sim)
    const lines = sim.lines.filter(l => l.from !== USER).length
    assert.ok(lines >= 5 && lines <= 8, `${lines} lines`)
  })

  it('the turn limit ends a conversation where everyone always wants to speak', () => {
    const companions = companionsOf(3)
    const sim = new TurnSim({ companions, seed: 3, settings: { turnLimit: 4 }, judge: (_s, _m, r) => ({ state: 'speak', importance: Math.floor(r() * 10), closing: 'none' }) })
    sim.say(USER, companions, 'Hello!')
    sim.run()
    checkRests(sim)
    const lines = sim.lines.filter(l => l.from !== USER).length
    // lines 1..3 free, 4th line's votes begin the walk: pre-closing, closing, terminal.
    assert.ok(lines >= 4 && lines <= 6, `${lines} lines`)
    for (const n of sim.alive()) assert.equal(n.state.conversation.closing, 'terminal')
  })

  it('after resting, a new line starts a new conversation', () => {
    const companions = companionsOf(2)
    const sim = new TurnSim({ companions, seed: 11, settings: { turnLimit: 3 }, judge: () => ({ state: 'speak', importance: 5, closing: 'none' }) })
    sim.say(USER, companions, 'Hello!')
    sim.run()
    const first = sim.lines.length
    sim.say(USER, companions, 'Me again!')
    sim.run()
    assert.ok(sim.lines.length > first + 1, 'companions answered the second hello')
    checkRests(sim)
  })
})

describe('turn-taking simulation in a named room (only votes that could win are sent)', () => {
  const room = (size: number): string[] => Array.from({ length: size }, (_, i) => `companion_m${String(i).padStart(2, '0')}`)
  /** Judged by voter and line alone, so two runs judge alike whatever their timing: a third listen, the rest speak. */
  const judge = (self: string, message: SimLine): Judgement => {
    const r = seededRandom(`${self}|${message.id}`)
    return r() < 0.3 ? { state: 'listen', importance: 0, closing: 'none' } : { state: 'speak', importance: Math.floor(r() * 11), closing: 'none' }
  }

  for (const size of [3, 10]) {
    it(`${size} companions: one speaker per turn, the one every vote would choose, and few votes sent (30 seeds)`, () => {
      let sentEvery = 0
      let sentCouldWin = 0
      for (let seed = 1; seed <= 30; seed++) {
        const companions = room(size)
        const every = new TurnSim({ companions, seed, judge })
        const couldWin = new TurnSim({ companions, seed, judge, settings: { votes: 'could-win' } })
        for (const sim of [every, couldWin]) {
          sim.say(USER, companions, 'Hello everyone!')
          sim.run()
          checkOneSpeakerPerTurn(sim)
          checkOneConversation(sim)
          checkRests(sim)
        }
        // The first turn is the same line in both: the same speaker is chosen.
        const first = every.lines[0].id
        assert.deepEqual([...new Set(couldWin.decisions.get(first)!.values())], [...new Set(every.decisions.get(first)!.values())], `seed ${seed}`)
        sentEvery += every.votesSent.filter(v => v.line === first).length
        sentCouldWin += couldWin.votesSent.filter(v => v.line === first).length
      }
      assert.equal(sentEvery, 30 * size, 'in the default room every recipient votes')
      assert.ok(sentCouldWin <= 30 * (size <= 3 ? 2 : 3.5), `${sentCouldWin} votes for 30 lines to ${size}`)
    })
  }

  it('a turn nobody wants is decided when the window closes, and a line to one companion at once', () => {
    const companions = room(4)
    const quiet = new TurnSim({ companions, seed: 5, judge: () => ({ state: 'listen', importance: 0, closing: 'none' }), settings: { votes: 'could-win' } })
    quiet.say(USER, companions, 'Anyone?')
    quiet.run()
    assert.equal(quiet.votesSent.length, 0, 'listeners say nothing')
    checkRests(quiet)
    const asked = new TurnSim({ companions, seed: 5, judge: () => ({ state: 'speak', importance: 5, closing: 'none' }), settings: { votes: 'could-win', turnLimit: 1 } })
    const line = asked.say(USER, [companions[2]], 'You there?')
    asked.runUntil(1000)
    assert.equal(asked.decisions.get(line)?.get(companions[2]), companions[2], 'the one asked answers without waiting for the window')
  })
})

/** Every line is answered at most once: ours by `replyTo`, aikyo's by the line its writer had heard last when chosen. */
function checkOneAnswerPerLine (sim: TurnSim): void {
  const answered = new Map<string, string[]>()
  for (const l of sim.lines) if (l.answers !== undefined) answered.set(l.answers, [...(answered.get(l.answers) ?? []), l.id])
  for (const [line, answers] of answered) assert.ok(answers.length <= 1, `line ${line} got ${answers.length} answers: ${answers.join(', ')}`)
}

describe('turn-taking simulation with aikyo 1.6 nodes', () => {
  const D = 'companion_di'
  const mixes: Array<[string, string[], string[]]> = [
    ['one aikyo node and one of ours', [A, B], [A]],
    ['one aikyo node and two of ours', [A, B, C], [A]],
    ['two aikyo nodes and one of ours', [A, B, C], [A, C]],
    ['two aikyo nodes and two of ours', [A, B, C, D], [B, D]]
  ]
  for (const [speed, call] of [['a fast model (0.3 s a call)', () => 300], ['a slow model (0.3 to 10 s a call)', undefined]] as const) {
    for (const [name, companions, aikyo] of mixes) {
      it(`${name}, ${speed}: one answer per line, every node agrees, and the conversation runs to its end (30 seeds)`, () => {
        for (let seed = 1; seed <= 30; seed++) {
          // Everyone wants to speak (with seeded importance), so every line needs a speaker until the end.
          const judge = (_self: string, _line: SimLine, random: () => number): Judgement => ({ state: 'speak', importance: 1 + Math.floor(random() * 10), closing: 'none' })
          const sim = new TurnSim({ companions, aikyo, seed, judge, ...(call === undefined ? {} : { aikyoCall: call }) })
          sim.say(USER, companions, 'Hello everyone!')
          sim.run()
          try { checkOneAnswerPerLine(sim) } catch (e) { throw new Error(`seed ${seed}: ${(e as Error).message}`) }
          checkOneSpeakerPerTurn(sim)
          checkRests(sim)
          const said = sim.lines.filter(l => l.from !== USER)
          assert.ok(said.length >= 6, `seed ${seed}: only ${said.length} lines before the end (turn limit 6)`)
          // aikyo walks to the end its own way (its leaders judge the closing), a little later than ours.
          assert.ok(said.length <= 6 + 6, `seed ${seed}: ${said.length} lines (turn limit 6)`)
          for (const node of sim.aikyoNodes.values()) assert.equal(node.generating, false)
        }
      })
      it(`${name}, ${speed}: a person who speaks up mid-conversation still gets one answer per line (30 seeds, 3 moments)`, () => {
        for (let seed = 1; seed <= 30; seed++) {
          for (const at of [1000, 3000, 8000]) {
            const sim = new TurnSim({ companions, aikyo, seed, ...(call === undefined ? {} : { aikyoCall: call }) })
            sim.say(USER, companions, 'Hello everyone!')
            sim.runUntil(at)
            sim.say(USER, companions, 'Wait, what about me?')
            sim.run()
            try { checkOneAnswerPerLine(sim) } catch (e) { throw new Error(`seed ${seed}, at ${at} ms: ${(e as Error).message}`) }
            checkOneSpeakerPerTurn(sim)
            checkRests(sim)
          }
        }
      })
    }
  }
})

describe('waiting on a busy aikyo node ends when it is done', () => {
  // aikyo's model at 6 to 10 s a call: a decision is two calls, a line two, and one more after it.
  const call = (_node: string, random: () => number): number => 6000 + Math.floor(random() * 4000)
  const D = 'companion_di'
  const mixes: Array<[string, string[], string[]]> = [
    ['one aikyo node and one of ours', [A, B], [A]],
    ['one aikyo node and two of ours', [A, B, C], [A]],
    ['two aikyo nodes and two of ours', [A, B, C, D], [B, D]]
  ]
  for (const [name, companions, aikyo] of mixes) {
    it(`${name}, a model of 6 to 10 s a call: never 12 s with nothing at work (30 seeds)`, () => {
      for (let seed = 1; seed <= 30; seed++) {
        const judge = (_self: string, _line: SimLine, random: () => number): Judgement => ({ state: 'speak', importance: 1 + Math.floor(random() * 10), closing: 'none' })
        const sim = new TurnSim({ companions, aikyo, seed, judge, aikyoCall: call })
        sim.say(USER, companions, 'Hello everyone!')
        sim.run()
        checkOneAnswerPerLine(sim)
        assert.ok(sim.lines.length >= 6, `seed ${seed}: ${sim.lines.length} lines`)
        const idle = sim.longestIdle()
        assert.ok(idle <= 12_000, `seed ${seed}: ${idle} ms with nothing at work`)
      }
    })
  }
})
