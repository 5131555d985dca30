/**
 * Where a person on the LAN reaches this host: the addresses the banner
 * prints, and the names and addresses a certificate made for the relay
 * (`--tls`) must cover.
 */
import { hostname, networkInterfaces } from 'node:os'

/** Hosts a person on the LAN can put in a browser for a relay bound to `host`. */
export function reachableHosts (host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host.includes(':') ? `[${host}]` : host]
  const lan = Object.values(networkInterfaces()).flat()
    .filter(i => i != null && i.family === 'IPv4' && !i.internal)
    .map(i => i!.address)
  return [...lan, '127.0.0.1']
}

/** What a certificate for a relay bound to `host` names: this host's name, localhost, and every address it is reached at. */
export function certificateNames (host: string): string[] {
  const addresses = reachableHosts(host).map(h => h.replace(/^\[(.*)\]$/, '$1'))
  return [...new Set([hostname(), 'localhost', ...addresses, '127.0.0.1'])].filter(n => n !== '')
}
