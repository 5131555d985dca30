/**
 * A LAN of our own inside the test's private network namespace: a bridge
 * (the switch) and hosts, each a network namespace of its own joined to the
 * bridge by a veth pair, with the multicast route mDNS needs (see the field
 * notes). Nothing leaves the test's namespace; the test's own namespace is on
 * the bridge too (where Chromium runs), at `.1`.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

export interface LanHost {
  name: string
  ip: string
  /** Spawns `command args` inside this host's namespace. */
  spawn: (command: string, args: string[], options?: Parameters<typeof spawn>[2]) => ChildProcess
}

export interface Lan {
  /** The test's own address on the bridge. */
  gatewayIp: string
  addHost: (name: string) => LanHost
  close: () => void
}

let lanCount = 0

function run (command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`)
}

/** Whether `ip`, `unshare` and `nsenter` can build a LAN here (root in the test namespace). */
export function lanSkipReason (): string | false {
  const probe = spawnSync('sh', ['-c', 'ip link add kotoba-probe type bridge && ip link del kotoba-probe && unshare --net true'], { encoding: 'utf8' })
  return probe.status === 0 ? false : `cannot build a LAN of namespaces here: ${(probe.stderr || '').trim()}`
}

/** `subnet` is the third octet of 10.77.X.0/24, so two LANs at once do not overlap. */
export function createLan (subnet = 77 + lanCount): Lan {
  const index = lanCount++
  const bridge = `kbr${index}`
  const prefix = `10.${subnet}.0`
  const holders: ChildProcess[] = []
  run('ip', ['link', 'add', bridge, 'type', 'bridge'])
  // No IPv6 link-local addresses on the LAN's links: one that becomes valid
  // a second or two after a link comes up is a network change to Chromium,
  // which then fails the page loads in flight (ERR_NETWORK_CHANGED).
  run('ip', ['link', 'set', 'dev', bridge, 'addrgenmode', 'none'])
  run('ip', ['addr', 'add', `${prefix}.1/24`, 'dev', bridge])
  run('ip', ['link', 'set', bridge, 'up'])

  const addHost = (name: string): LanHost => {
    const n = holders.length + 11
    const ip = `${prefix}.${n}`
    // A process that only holds the namespace open (every command runs in it
    // via nsenter); it exits when its stdin closes, so a crashed test leaves none.
    const holder = spawn('unshare', ['--net', 'sh', '-c', 'read _'], { stdio: ['pipe', 'ignore', 'ignore'] })
    holders.push(holder)
    const pid = holder.pid!
    const veth = `kv${index}x${n}`
    // The namespace exists once unshare has made it (before that, the holder is still in ours).
    const ours = readlinkNs(process.pid)
    for (let attempt = 0; readlinkNs(pid) === ours || readlinkNs(pid) === ''; attempt++) {
      if (attempt > 250) throw new Error(`host ${name}: the namespace holder did not start`)
      spawnSync('sleep', ['0.02'])
    }
    run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)])
    run('ip', ['link', 'set', 'dev', veth, 'addrgenmode', 'none'])
    run('ip', ['link', 'set', veth, 'master', bridge, 'up'])
    const inHost = (script: string): void => { run('nsenter', ['-t', String(pid), '-n', 'sh', '-c', script]) }
    inHost(`ip link set lo up && ip link set dev eth0 addrgenmode none && ip addr add ${ip}/24 dev eth0 && ip link set eth0 up && ip route add 224.0.0.0/4 dev eth0`)
    return {
      name,
      ip,
      spawn: (command, args, options = {}) => spawn('nsenter', ['-t', String(pid), '-n', command, ...args], options)
    }
  }

  return {
    gatewayIp: `${prefix}.1`,
    addHost,
    close: () => {
      for (const holder of holders) holder.kill('SIGKILL')
      // Deleting the bridge leaves its ports; the namespaces' ends go with the holders.
      spawnSync('ip', ['link', 'del', bridge])
    }
  }
}

function readlinkNs (pid: number): string {
  return spawnSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).stdout.trim()
}
