/**
 * `node relay`: the command-line entry. The only module that reads argv and
 * env, prints for a person, and handles signals.
 */
import { join } from 'node:path'
import type { HeadlessCompanion } from '../headless/headless-companion.ts'
import { loadCardFile } from '../host/card-file.ts'
import { DataDirInUseError } from '../host/data-dir.ts'
import { llmEndpoint } from '../host/option-checks.ts'
import { exitOnSignals } from '../host/shutdown.ts'
import { consoleLogger } from '../p2p/logger.ts'
import type { ChatEndpoint } from '../companion/chat-completions.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { helpText, parseCommandLine } from './options.ts'
import type { RelayOptions } from './options.ts'
import { reachableHosts } from './host-addresses.ts'
import { startRelay } from './relay.ts'
import type { RelayHandle } from './relay.ts'

/**
 * Headless companions of this process: each its own node, joined to the
 * relay over loopback TCP, reaching tabs by WebRTC like any other companion.
 * The companion (and WebRTC, which it needs) is loaded only when asked for:
 * a relay without companions stays light.
 */
async function startCompanions (cards: Array<{ card: CompanionCard, room: RoomName }>, relay: RelayHandle, options: RelayOptions, llm: ChatEndpoint | undefined): Promise<HeadlessCompanion[]> {
  if (cards.length === 0) return []
  const { startHeadlessCompanion } = await import('../headless/headless-companion.ts')
  const relayTcp = relay.multiaddrs().find(ma => !ma.toString().includes('/ws') && ma.toString().startsWith('/ip4/127.'))
    ?? relay.multiaddrs().find(ma => !ma.toString().includes('/ws'))
  const companions: HeadlessCompanion[] = []
  for (const { card, room } of cards) {
    const companion = await startHeadlessCompanion({
      card,
      room,
      host: '127.0.0.1',
      tcpPort: 0,
      mdns: false,
      bootstrap: relayTcp === undefined ? [] : [relayTcp.toString()],
      dataDir: join(options.dataDir, 'companions', card.id),
      ...(options.turnLimit === undefined ? {} : { turnLimit: options.turnLimit }),
      ...(llm === undefined ? {} : { llm, llmShared: true })
    }, { log: consoleLogger(options.logLevel, `[${card.name}] `), showConversation: false })
    companions.push(companion)
    console.log(`  companion  ${card.name} (${card.id}) in room ${room}, peer id ${companion.peerId}`)
  }
  return companions
}

async function main (): Promise<void> {
  let options: RelayOptions
  let cards: Array<{ card: CompanionCard, room: RoomName }>
  let llm: ChatEndpoint | undefined
  try {
    const parsed = parseCommandLine(process.argv.slice(2), process.env)
    if (parsed.help) {
      console.log(helpText())
      return
    }
    options = parsed.options
    cards = await Promise.all(options.companions.map(async ({ file, room }) => ({ card: await loadCardFile(file), room })))
    // The relay's model endpoint is theirs too; they must name a model.
    llm = cards.length === 0 ? undefined : llmEndpoint(options.llmUrl, options.llmModel, options.llmKey, options.llmTimeoutMs)
  } catch (err) {
    console.error(`node relay: ${(err as Error).message}\nRun \`node relay --help\` for the options.`)
    process.exitCode = 2
    return
  }

  const relay = await startRelay(options, { log: consoleLogger(options.logLevel) })
  const hosts = reachableHosts(options.host)
  const lines = [
    'kotoba relay is running',
    `  peer id    ${relay.peerId}`,
    ...relay.multiaddrs().map((ma, i) => `  ${i === 0 ? 'listening' : '         '}  ${ma.toString()}`),
    ...hosts.map((host, i) => `  ${i === 0 ? 'open' : '    '}       http${relay.tls === undefined ? '' : 's'}://${host}:${relay.httpPort}/`),
    ...hosts.map((host, i) => `  ${i === 0 ? 'firehose' : '        '}   ws${relay.tls === undefined ? '' : 's'}://${host}:${relay.httpPort}/firehose`),
    ...(relay.tls === undefined ? [] : [`  tls        SHA-256 ${relay.tls.fingerprint}`, `             (${relay.tls.source === 'given' ? 'your certificate' : 'made for this host, kept in the data dir'}: check it against what the browser shows before you accept it)`]),
    `  mdns       ${options.mdns ? 'on' : 'off'}`,
    `  llm        ${options.llmUrl === undefined ? 'off (pages use the built-in brain or their own endpoint)' : `${options.llmUrl} via /api/llm${options.llmModel === undefined ? '' : `, model ${options.llmModel}`}${options.llmKey === undefined ? '' : ', with key'}`}`,
    ...(options.models === undefined ? [] : [`  models     ${options.models} (listed at /api/models once hashed${options.fetchModels.length === 0 ? '' : `; fetching ${options.fetchModels.map(f => f.name).join(', ')}`})`]),
    ...(options.ollamaModels === undefined ? [] : [`  ollama     ${options.ollamaModels} (its models listed at /api/models, served from its blobs)`]),
    `  data dir   ${options.dataDir}`
  ]
  console.log(lines.join('\n'))

  const companions = await startCompanions(cards, relay, options, llm)

  exitOnSignals(async (signal) => {
    console.log(`${signal}: shutting down`)
    await Promise.all(companions.map(async c => { await c.close() }))
    await relay.close()
  })
}

main().catch((err: Error) => {
  // A refusal a person can act on is said plainly; anything else is a bug to report.
  console.error(`node relay: ${err instanceof DataDirInUseError ? err.message : err.stack ?? err.message}`)
  process.exit(1)
})
