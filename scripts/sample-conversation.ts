/**
 * Prints a conversation of the built-in mind, as docs/companions.md shows
 * it: the sample room (test/helpers/sample-room.ts: four companions, one
 * writing Japanese, and a person asking them things), run by the protocol's
 * turn-taking rules, no model, no network.
 *
 *   npm run sample                 the docs' conversation (seed "docs", 30 lines)
 *   npm run sample -- SEED LINES   another one
 */
import { formatTranscript, runBrainRoom } from '../test/helpers/brain-room.ts'
import { CARDS, PERSON, SCRIPT } from '../test/helpers/sample-room.ts'

const [seed = 'docs', count = '30'] = process.argv.slice(2)
const lines = Number(count)
if (!Number.isInteger(lines) || lines < 1 || lines > 1000) {
  console.error(`sample: LINES must be a whole number from 1 to 1000, not "${count}"`)
  process.exit(2)
}
const transcript = await runBrainRoom({ cards: CARDS, person: PERSON, script: SCRIPT, lines, seed, turnLimit: 5 })
console.log(formatTranscript(transcript))
