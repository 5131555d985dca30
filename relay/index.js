// `node relay` lands here: plain JavaScript that any Node parses. It runs the
// relay on a Node new enough for it, built or from source (host/launcher.js).
import { fileURLToPath } from 'node:url'
import { launch } from '../host/launcher.js'

await launch({
  name: 'node relay',
  script: fileURLToPath(import.meta.url),
  bundle: 'relay.js',
  source: new URL('./main.ts', import.meta.url).href,
  howToRun: 'node relay'
})
