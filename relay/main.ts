/**
 * `node relay`: the command-line entry. The only module that reads argv and
 * env, prints for a person, and handles signals.
 */
import { networkInterfaces } from 'node:os'
import { helpText, parseCommandLine } from './options.ts'
import type { RelayOptions } from './options.ts'
import { join } from 'node:path'
import { startHeadlessCompanion } from '../headless/headless-companion.ts'
import type { HeadlessCompanion } from '../headless/headless-companion.ts'
import { loadCardFile } from '../host/card-file.ts'
import { llmEndpoint } from '../host/option-checks.ts'
import type { ChatEndpoint } from '../companion/chat-completions.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { startRelay } from './relay.ts'

/** Hosts a person on the LAN can put in a browser for a relay bound to `host`. */
function reachableHosts (host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host.includes(':') ? `[${host}]` : host]
  const lan = Object.values(networkInterfaces()).flat()
    .filter(i => i != null && i.family === 'IPv4' && !i.internal)
    .map(i => i!.address)
  return [...lan, '127.0.0.1']
}

async function main (): Promise<void> {
  let options: RelayOptions
  let cards: CompanionCard[]
  let llm: ChatEndpoint | undefined
  try {
    const parsed = parseCommandLine(process.argv.slice(2), process.env)
    if (parsed.help) {
      console.log(helpText())
      return
    }
    options = parsed.options
    cards = await Promise.all(options.companions.map(loadCardFile))
    // The relay's model endpoint is theirs too; they must name a model.
    llm = cards.length === 0 ? undefined : llmEndpoint(options.llmUrl, options.llmModel, options.llmKey, options.llmTimeoutMs)
  } catch (err) {
    console.error(`node relay: ${(err as Error).message}\nRun \`node relay --help\` for the options.`)
    process.exitCode = 2
    return
  }

  const relay = await startRelay(options)
  const hosts = reachableHosts(options.host)
  const lines = [
    'kotoba relay is running',
    `  peer id    ${relay.peerId}`,
    ...relay.multiaddrs().map((ma, i) => `  ${i === 0 ? 'listening' : '         '}  ${ma.toString()}`),
    ...hosts.map((host, i) => `  ${i === 0 ? 'open' : '    '}       http://${host}:${relay.httpPort}/`),
    ...hosts.map((host, i) => `  ${i === 0 ? 'firehose' : '        '}   ws://${host}:${relay.httpPort}/firehose`),
    `  mdns       ${options.mdns ? 'on' : 'off'}`,
    `  llm        ${options.llmUrl === undefined ? 'off (pages use the built-in brain or their own endpoint)' : `${options.llmUrl} via /api/llm${options.llmModel === undefined ? '' : `, model ${options.llmModel}`}${options.llmKey === undefined ? '' : ', with key'}`}`,
    `  data dir   ${options.dataDir}`
  ]
  console.log(lines.join('\n'))

  // Headless companions of this process: each its own node, joined to the
  // relay over loopback TCP, reaching tabs by WebRTC like any other companion.
  const relayTcp = relay.multiaddrs().find(ma => !ma.toString().includes('/ws') && ma.toString().startsWith('/ip4/127.'))
    ?? relay.multiaddrs().find(ma => !ma.toString().includes('/ws'))
  const companions: HeadlessCompanion[] = []
  for (const card of cards) {
    const companion = await startHeadlessCompanion({
      card,
      host: '127.0.0.1',
      tcpPort: 0,
      mdns: false,
      bootstrap: relayTcp === undefined ? [] : [relayTcp.toString()],
      dataDir: join(options.dataDir, 'companions', card.id),
      ...(llm === undefined ? {} : { llm })
    }, { log: (line) => { console.log(`[${card.name}] ${line}`) }, showConversation: false })
    companions.push(companion)
    console.log(`  companion  ${card.name} (${card.id}), peer id ${companion.peerId}`)
  }

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      console.log(`${signal} again: exiting now`)
      process.exit(1)
    }
    stopping = true
    console.log(`${signal}: shutting down`)
    Promise.all(companions.map(async c => { await c.close() })).then(async () => { await relay.close() }).then(() => { process.exit(0) }, (err: Error) => {
      console.error(`shutdown failed: ${err.message}`)
      process.exit(1)
    })
  }
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })
}

main().catch((err: Error) => {
  console.error(`node relay: ${err.stack ?? err.message}`)
  process.exit(1)
})
