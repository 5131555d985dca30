/**
 * A data dir belongs to one running process. It holds a node's peer key, so
 * its identity: two relays (or headless companions) started on one data dir
 * would run with one peer id and silently never connect. `holdDataDir` takes
 * the dir for this process (a `lock` file naming it) or refuses, saying who
 * holds it; a lock left behind by a process that is gone (killed, crashed)
 * is taken over.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const LOCK_FILE = 'lock'

/** The data dir is held by a running process; the message says which and what to do. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
}

export interface HeldDataDir {
  /** Lets the next process have the dir. */
  release: () => Promise<void>
}

interface Holder {
  pid: number
  /** When the process started (Linux: clock ticks since boot), so a reused pid is not taken for it. */
  started?: string
}

/** A process's start time from /proc, where there is one. */
function startTimeOf (pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22, counted after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function isRunning (holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (err) {
    // EPERM: it exists, but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const started = startTimeOf(holder.pid)
  return holder.started === undefined || started === undefined || started === holder.started
}

async function readHolder (path: string): Promise<Holder | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'))
    if (typeof value !== 'object' || value === null || !('pid' in value) || !Number.isInteger(value.pid)) return undefined
    const started = 'started' in value && typeof value.started === 'string' ? value.started : undefined
    return { pid: Number(value.pid), ...(started === undefined ? {} : { started }) }
  } catch {
    return undefined
  }
}

/**
 * Starts something (a relay, a headless companion) holding `dir`: refused
 * while another process holds it; the handle `start` gives lets go of the
 * dir when it is closed, and a start that fails lets go at once.
 */
export async function startOnDataDir<T extends { close: () => Promise<void> }> (dir: string, start: () => Promise<T>): Promise<T> {
  const held = await holdDataDir(dir)
  try {
    const handle = await start()
    return { ...handle, close: async () => { await handle.close(); await held.release() } }
  } catch (err) {
    await held.release()
    throw err
  }
}

/**
 * Holds `dir` for this process until `release()`. `flag` names the option a
 * person passes to choose another dir (`--data-dir`), for the refusal.
 */
export async function holdDataDir (dir: string, flag = '--data-dir'): Promise<HeldDataDir> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, LOCK_FILE)
  const started = startTimeOf(process.pid)
  const mine: Holder = { pid: process.pid, ...(started === undefined ? {} : { started }) }
  const inUse = (holder: Holder | undefined): DataDirInUseError => {
    const who = holder === undefined ? 'another process' : holder.pid === process.pid ? 'this same process' : `process ${holder.pid}`
    return new DataDirInUseError(`the data dir ${dir} is in use by ${who}: it holds that node's peer key, and two nodes with one peer id never connect. Stop it, or give this one a folder of its own with ${flag} DIR`)
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, JSON.stringify(mine), { flag: 'wx', mode: 0o600 })
      return { release: async () => { if ((await readHolder(path))?.pid === process.pid) await rm(path, { force: true }) } }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readHolder(path)
    if (holder !== undefined && isRunning(holder)) throw inUse(holder)
    // Left by a process that is gone (or unreadable, half written by one): take it over.
    await rm(path, { force: true })
  }
  // Others kept taking it over at the same moment.
  throw inUse(await readHolder(path))
}
