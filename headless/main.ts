/**
 * `npm run companion -- --card FILE`: the command-line entry of the headless
 * companion. The only module of headless/ that reads argv and env, prints
 * for a person, and handles signals.
 */
import { DataDirInUseError } from '../host/data-dir.ts'
import { exitOnSignals } from '../host/shutdown.ts'
import { consoleLogger } from '../p2p/logger.ts'
import { startHeadlessCompanion } from './headless-companion.ts'
import { ModelFileError } from './model-file.ts'
import { helpText, parseCommandLine } from './options.ts'
import type { HeadlessOptions } from './options.ts'

async function main (): Promise<void> {
  let options: HeadlessOptions
  try {
    const parsed = await parseCommandLine(process.argv.slice(2), process.env)
    if (parsed.help) {
      console.log(helpText())
      return
    }
    options = parsed.options
  } catch (err) {
    console.error(`companion: ${(err as Error).message}\nRun \`npm run companion -- --help\` for the options.`)
    process.exitCode = 2
    return
  }

  const headless = await startHeadlessCompanion(options, { log: consoleLogger(options.logLevel) })
  console.log([
    `kotoba companion ${options.card.name} (${options.card.id}) is running`,
    `  peer id    ${headless.peerId}`,
    `  room       ${options.room}`,
    ...headless.node.getMultiaddrs().filter(ma => !ma.toString().includes('/p2p-circuit')).map((ma, i) => `  ${i === 0 ? 'listening' : '         '}  ${ma.toString()}`),
    `  mdns       ${options.mdns ? 'on' : 'off'}`,
    ...options.bootstrap.map((address, i) => `  ${i === 0 ? 'bootstrap' : '         '}  ${address}`),
    `  brain      ${options.model !== undefined ? `${options.model}, in this process` : options.llm === undefined ? 'built-in' : `${options.llm.model} at ${options.llm.baseUrl}`}`,
    `  data dir   ${options.dataDir}`
  ].join('\n'))

  exitOnSignals(async (signal) => {
    console.log(`${signal}: ${options.card.name} says goodbye`)
    await headless.close()
  })
}

main().catch((err: Error) => {
  // A refusal a person can act on is said plainly; anything else is a bug to report.
  console.error(`companion: ${err instanceof DataDirInUseError || err instanceof ModelFileError ? err.message : err.stack ?? err.message}`)
  process.exit(1)
})
