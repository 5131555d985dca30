// `npm run companion` lands here: plain JavaScript that any Node parses. It runs
// the headless companion on a Node new enough for it, built or from source
// (host/launcher.js).
import { fileURLToPath } from 'node:url'
import { launch } from '../host/launcher.js'

await launch({
  name: 'companion',
  script: fileURLToPath(import.meta.url),
  bundle: 'companion.js',
  source: new URL('./main.ts', import.meta.url).href,
  howToRun: 'npm run companion -- --card FILE'
})
