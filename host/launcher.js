// @ts-check
/**
 * What `node relay` and `npm run companion` start with. Plain JavaScript that
 * any Node parses, so it can help whatever Node the person has:
 *
 * - On a Node too old for the project (libp2p v3 and running TypeScript need
 *   22.18), it runs the program on the project's own Node (the `node` package
 *   `npm install` brought): arguments, standard input and output, signals and
 *   the exit code pass through. Only when that Node is missing too does it
 *   stop, saying what to do.
 * - On a Node new enough, it runs the built bundle (`vite build` writes
 *   `dist-node/`) when it is at least as new as every source file, else the
 *   TypeScript sources themselves. The bundle is the same code in one file:
 *   an idle relay needs far less memory than with hundreds of modules.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const NEEDED = [22, 18]
/** The folders the Node programs are built from, and the lockfile (their dependencies). */
const SOURCES = ['protocol', 'p2p', 'companion', 'host', 'relay', 'headless']

/** @param {string} version  e.g. `20.20.2` */
function isNewEnough (version) {
  const [major, minor] = version.split('.').map(Number)
  return major > NEEDED[0] || (major === NEEDED[0] && minor >= NEEDED[1])
}

/** The newest modification time among the files under `path`. @param {string} path */
function newest (path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let latest = stat.mtimeMs
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)))
  return latest
}

/** Whether `bundle` exists and nothing it was built from changed since. @param {string} bundle */
function isFresh (bundle) {
  if (!existsSync(bundle)) return false
  const built = statSync(bundle).mtimeMs
  return [...SOURCES.map(dir => join(root, dir)), join(root, 'package-lock.json')]
    .every(path => !existsSync(path) || newest(path) <= built)
}

/** Set on the program this launcher runs on the project's Node. */
const LAUNCHED = 'KOTOBA_LAUNCHED'

/**
 * Runs `script` on the project's own Node and mirrors it: every signal this
 * process gets goes to the child, and this process ends the way it did. If
 * this process is killed outright (SIGKILL, which cannot be passed on), the
 * child notices its IPC channel close and shuts down (see `launch`).
 * @param {string} node
 * @param {string} script
 */
function runOn (node, script) {
  const child = spawn(node, [script, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [LAUNCHED]: '1' }
  })
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, () => { child.kill(signal) })
  }
  child.on('error', (err) => {
    console.error(`could not start ${node}: ${err.message}`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1)
    // Die of the same signal, so whoever started us sees what happened.
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
}

/**
 * Starts a program: `name` for messages, its launcher script (the path of
 * its `index.js`, run again on the project's Node when this one is too old),
 * its bundle in `dist-node/`, and the URL of its TypeScript entry.
 * @param {{ name: string, script: string, bundle: string, source: string, howToRun: string }} program
 */
export async function launch (program) {
  if (process.env[LAUNCHED] === '1' && process.channel !== undefined) {
    // Run by a launcher on an older Node: when it is gone, so are we.
    delete process.env[LAUNCHED]
    process.channel.unref()
    process.on('disconnect', () => { process.kill(process.pid, 'SIGTERM') })
  }
  if (!isNewEnough(process.versions.node)) {
    const projectNode = join(root, 'node_modules', 'node', 'bin', 'node')
    if (existsSync(projectNode)) return runOn(projectNode, program.script)
    console.error(`${program.name}: this is Node ${process.versions.node}; it needs Node ${NEEDED.join('.')} or newer.\n` +
      `Run \`npm install\` first: the project brings its own Node, and \`${program.howToRun}\` then uses it.`)
    process.exit(1)
  }
  const bundle = join(root, 'dist-node', program.bundle)
  await import(isFresh(bundle) ? pathToFileURL(bundle).href : program.source)
}
