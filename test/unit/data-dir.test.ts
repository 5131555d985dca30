import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirInUseError, holdDataDir, startOnDataDir } from '../../host/data-dir.ts'

describe('a data dir belongs to one process', () => {
  const dirs: string[] = []
  const fresh = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'kotoba-dir-')); dirs.push(d); return d }
  after(async () => { await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) })) })

  it('is refused while held, naming the dir and --data-dir, and free again once released', async () => {
    const dir = await fresh()
    const held = await holdDataDir(dir)
    await assert.rejects(holdDataDir(dir), (err: Error) =>
      err instanceof DataDirInUseError && err.message.includes(dir) && err.message.includes('this same process') && err.message.includes('--data-dir DIR'))
    await held.release()
    await (await holdDataDir(dir)).release()
  })

  it('takes over a lock left by a process that is gone, or one that cannot be read', async () => {
    const dir = await fresh()
    // Beyond the largest pid Linux hands out (2^22).
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 7 }))
    const held = await holdDataDir(dir)
    assert.equal(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')).pid, process.pid)
    await held.release()
    await writeFile(join(dir, 'lock'), '{"pid": ')
    await (await holdDataDir(dir)).release()
  })

  it('a start that fails lets go of the dir; a started one lets go when closed', async () => {
    const dir = await fresh()
    await assert.rejects(startOnDataDir(dir, async () => { throw new Error('port in use') }), /port in use/)
    const handle = await startOnDataDir(dir, async () => ({ close: async () => {} }))
    await assert.rejects(holdDataDir(dir), DataDirInUseError)
    await handle.close()
    await (await holdDataDir(dir)).release()
  })
})
