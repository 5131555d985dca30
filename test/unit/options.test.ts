import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { DEFAULT_PORT, helpText, parseCommandLine, resolveOptions } from '../../relay/options.ts'
import { helpText as headlessHelp, parseCommandLine as parseHeadless } from '../../headless/options.ts'
import { LAN_HOST_FLAGS, flagRows } from '../../host/cli-flags.ts'
import { createLogger } from '../../p2p/logger.ts'

/** A card file that is in the repository. */
const CARD_FILE = resolve(import.meta.dirname, '../../docs/cards/kyoko.json')

const RELAY_ID = '12D3KooWADnKrArBGXvSFp94TdXR8kKBMy14iZGMu1rLnkvFkLMD'
const options = (argv: string[], env: Record<string, string> = {}) => {
  const parsed = parseCommandLine(argv, env)
  assert.equal(parsed.help, false)
  if (parsed.help) throw new Error('unreachable')
  return parsed.options
}

describe('relay options', () => {
  it('has LAN-ready defaults, ports following --port', () => {
    const o = options([])
    assert.equal(o.host, '0.0.0.0')
    assert.deepEqual([o.port, o.wsPort, o.tcpPort], [DEFAULT_PORT, DEFAULT_PORT + 1, DEFAULT_PORT + 2])
    assert.equal(o.mdns, true)
    assert.deepEqual(o.bootstrap, [])
    assert.equal(o.dataDir, resolve('.kotoba'))
  })

  const cases: Array<[string, string[], Record<string, string>, Partial<Record<string, unknown>>]> = [
    ['--port moves the other ports', ['--port', '9000'], {}, { port: 9000, wsPort: 9001, tcpPort: 9002 }],
    ['--port 0 makes every port free-choice', ['--port', '0'], {}, { port: 0, wsPort: 0, tcpPort: 0 }],
    ['explicit ports win', ['--port', '9000', '--ws-port', '7000', '--tcp-port', '7001'], {}, { wsPort: 7000, tcpPort: 7001 }],
    ['--no-mdns', ['--no-mdns'], {}, { mdns: false }],
    ['KOTOBA_NO_MDNS=1', [], { KOTOBA_NO_MDNS: '1' }, { mdns: false }],
    ['KOTOBA_NO_MDNS=0 keeps mdns', [], { KOTOBA_NO_MDNS: '0' }, { mdns: true }],
    ['env port', [], { KOTOBA_PORT: '9100' }, { port: 9100, wsPort: 9101 }],
    ['flags win over env', ['--port', '9200'], { KOTOBA_PORT: '9100' }, { port: 9200 }],
    ['--host', ['--host', '127.0.0.1'], {}, { host: '127.0.0.1' }],
    ['IPv6 host', ['--host', '::'], {}, { host: '::' }],
    ['repeatable --bootstrap', ['--bootstrap', `/ip4/10.0.0.1/tcp/1/p2p/${RELAY_ID}`, '--bootstrap', `/ip4/10.0.0.2/tcp/1/p2p/${RELAY_ID}`], {},
      { bootstrap: [`/ip4/10.0.0.1/tcp/1/p2p/${RELAY_ID}`, `/ip4/10.0.0.2/tcp/1/p2p/${RELAY_ID}`] }],
    ['comma-separated KOTOBA_BOOTSTRAP', [], { KOTOBA_BOOTSTRAP: `/ip4/10.0.0.1/tcp/1/p2p/${RELAY_ID}, /dns4/relay.lan/tcp/1/p2p/${RELAY_ID}` },
      { bootstrap: [`/ip4/10.0.0.1/tcp/1/p2p/${RELAY_ID}`, `/dns4/relay.lan/tcp/1/p2p/${RELAY_ID}`] }],
    ['--data-dir is made absolute', ['--data-dir', 'relay-data'], {}, { dataDir: resolve('relay-data') }],
    ['limits', ['--max-reservations', '50', '--max-connections', '60', '--max-firehose-clients', '70'], {},
      { maxReservations: 50, maxConnections: 60, maxFirehoseClients: 70 }],
    ['no model endpoint by default', [], {}, { llmUrl: undefined, llmKey: undefined, llmModel: undefined, llmTimeoutMs: 30_000 }],
    ['--llm-url, --llm-model, --llm-timeout in seconds', ['--llm-url', 'http://127.0.0.1:11434/v1', '--llm-model', 'llama3.2', '--llm-timeout', '30'], {},
      { llmUrl: 'http://127.0.0.1:11434/v1', llmModel: 'llama3.2', llmTimeoutMs: 30_000 }],
    ['firehose access', ['--firehose-token', 'long-enough', '--firehose-origin', 'http://192.168.1.20:8787', '--firehose-rate', '5'], {},
      { firehoseToken: 'long-enough', firehoseOrigins: ['http://192.168.1.20:8787'], firehoseRate: 5, firehoseReadOnly: false }],
    ['read-only from the environment', [], { KOTOBA_FIREHOSE_READ_ONLY: '1' }, { firehoseReadOnly: true }],
    ['the key from KOTOBA_LLM_KEY', ['--llm-url', 'https://api.example/v1', '--llm-model', 'm'], { KOTOBA_LLM_KEY: 'sk-secret' }, { llmKey: 'sk-secret' }],
    ['the model proxy\'s limits by default', [], {}, { llmMaxTokens: 512, llmRate: 120, llmBudget: undefined }],
    ['--tls', ['--tls'], {}, { tls: true }],
    ['an operator\'s certificate means TLS', ['--tls-cert', '/etc/c.pem', '--tls-key', '/etc/k.pem'], {}, { tls: true, tlsCert: '/etc/c.pem', tlsKey: '/etc/k.pem' }],
    ['--llm-max-tokens, --llm-rate, and no budget', ['--llm-max-tokens', '300', '--llm-rate', '20', '--llm-budget', '0'], {}, { llmMaxTokens: 300, llmRate: 20, llmBudget: 0 }],
    ['log level info by default', [], {}, { logLevel: 'info' }],
    ['--log-level warn', ['--log-level', 'warn'], {}, { logLevel: 'warn' }],
    ['log level from KOTOBA_LOG_LEVEL', [], { KOTOBA_LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    ['models to fetch, from flags and KOTOBA_FETCH_MODELS', ['--models', 'm', '--fetch-model', 'http://10.0.0.2/a.gguf'], { KOTOBA_FETCH_MODELS: 'x' }, { fetchModels: [{ url: 'http://10.0.0.2/a.gguf', name: 'a.gguf' }] }],
    ['models to fetch from the environment', ['--models', 'm'], { KOTOBA_FETCH_MODELS: 'http://h/a.gguf, http://h/b.gguf' }, { fetchModels: [{ url: 'http://h/a.gguf', name: 'a.gguf' }, { url: 'http://h/b.gguf', name: 'b.gguf' }] }]
  ]
  for (const [name, argv, env, expected] of cases) {
    it(name, () => {
      const o = options(argv, env) as unknown as Record<string, unknown>
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(o[key], value, key)
    })
  }

  const errors: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['unknown flag', ['--prot', '1'], {}, /prot/],
    ['port not a number', ['--port', 'eighty'], {}, /--port must be a whole number/],
    ['port out of range', ['--port', '70000'], {}, /port must be a port number/],
    ['ports colliding', ['--port', '9000', '--ws-port', '9000'], {}, /must differ/],
    ['host not an address', ['--host', 'example'], {}, /host must be an IPv4 or IPv6 address/],
    ['bootstrap not a multiaddr', ['--bootstrap', 'relay.lan:8787'], {}, /not a multiaddr/],
    ['bootstrap without peer id', ['--bootstrap', '/ip4/10.0.0.1/tcp/1'], {}, /must end in \/p2p/],
    ['zero reservations', ['--max-reservations', '0'], {}, /maxReservations must be a positive integer/],
    ['bad env value', [], { KOTOBA_TCP_PORT: '-1' }, /--tcp-port must be a whole number/],
    ['a short firehose token', ['--firehose-token', 'abc'], {}, /at least 8 characters/],
    ['an origin with a path', ['--firehose-origin', 'http://host:8787/page'], {}, /must be an origin/],
    ['llm url not http', ['--llm-url', 'ftp://host/v1'], {}, /llmUrl must be an http\(s\) URL/],
    ['llm key without url', [], { KOTOBA_LLM_KEY: 'sk-secret' }, /need llmUrl \(--llm-url\)/],
    ['zero llm timeout', ['--llm-url', 'http://127.0.0.1:1/v1', '--llm-timeout', '0'], {}, /llmTimeoutMs must be a positive integer/],
    ['a model key without the model it pays for', ['--llm-url', 'https://api.example/v1', '--llm-key', 'sk-secret'], {}, /llmKey needs llmModel \(--llm-model\)/],
    ['a certificate without its key', ['--tls-cert', 'c.pem'], {}, /tlsCert and tlsKey go together/],
    ['zero model requests a minute', ['--llm-rate', '0'], {}, /llmRate must be a positive integer/],
    ['a negative model budget', ['--llm-budget=-5'], {}, /--llm-budget must be a whole number|llmBudget must be/],
    ['positional argument', ['start'], {}, /start/],
    ['an unknown log level', ['--log-level', 'loud'], {}, /--log-level must be one of debug, info, warn, error/],
    ['a model to fetch without --models', ['--fetch-model', 'http://h/a.gguf'], {}, /--fetch-model needs --models DIR/],
    ['a model to fetch that is no .gguf', ['--models', 'm', '--fetch-model', 'http://h/a.bin'], {}, /must end in a model file's name/]
  ]
  for (const [name, argv, env, pattern] of errors) {
    it(`refuses ${name} with a TypeError`, () => {
      assert.throws(() => parseCommandLine(argv, env), (err: Error) => err instanceof TypeError && pattern.test(err.message))
    })
  }

  it('--help and -h ask for help, which names every flag and its variable', () => {
    assert.deepEqual(parseCommandLine(['--help'], {}), { help: true })
    assert.deepEqual(parseCommandLine(['-h'], {}), { help: true })
    const text = helpText()
    for (const flag of ['--host', '--port', '--ws-port', '--tcp-port', '--no-mdns', '--bootstrap', '--data-dir', 'KOTOBA_BOOTSTRAP', '--llm-url', '--llm-key', '--llm-model', '--llm-timeout', 'KOTOBA_LLM_KEY']) {
      assert.ok(text.includes(flag), flag)
    }
  })

  it('resolveOptions checks programmatic options the same way', () => {
    assert.throws(() => resolveOptions({ port: 1.5 }), TypeError)
    assert.equal(resolveOptions({ port: 0 }).wsPort, 0)
  })
})

describe('flags the relay and the headless companion share', () => {
  it('are declared once: each has the same help in both, and the same default model timeout', async () => {
    const headless = await parseHeadless(['--card', CARD_FILE], {})
    assert.equal(headless.help, false)
    if (headless.help) return
    assert.equal(headless.options.llm, undefined)
    const withModel = await parseHeadless(['--card', CARD_FILE, '--llm-url', 'http://127.0.0.1:1/v1', '--llm-model', 'm'], {})
    if (withModel.help) return
    assert.equal(withModel.options.llm?.timeoutMs, options([]).llmTimeoutMs, 'one default for a model request')
    for (const [name, flag] of Object.entries(LAN_HOST_FLAGS)) {
      const line = flagRows({ [name]: flag })[0]
      assert.ok(helpText().includes(line), `relay help has --${name} as declared`)
      assert.ok(headlessHelp().includes(line), `companion help has --${name} as declared`)
    }
  })

  it('--log-level is read and checked the same way by both', async () => {
    const parsed = await parseHeadless(['--card', CARD_FILE, '--log-level', 'error'], {})
    if (parsed.help) return
    assert.equal(parsed.options.logLevel, 'error')
    await assert.rejects(parseHeadless(['--card', CARD_FILE, '--log-level', 'loud'], {}), /--log-level must be one of/)
  })
})

describe('the logger', () => {
  it('passes on lines at its level and above, with their level', () => {
    const lines: string[] = []
    const log = createLogger((line, level) => { lines.push(`${level} ${line}`) }, 'warn')
    log.debug('a')
    log.info('b')
    log.warn('c')
    log.error('d')
    assert.deepEqual(lines, ['warn c', 'error d'])
  })
})
