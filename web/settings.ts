/**
 * Settings a person may give the page. STUN/TURN servers: none unless asked
 * for, via `?stun=stun:host:3478,…` (kept in localStorage for later visits).
 */
const ICE_KEY = 'kotoba.iceServers'

export function readIceServers (search: string, storage: Pick<Storage, 'getItem' | 'setItem'>): RTCIceServer[] {
  const fromUrl = new URLSearchParams(search).get('stun')
  if (fromUrl !== null) {
    const urls = fromUrl.split(',').map(s => s.trim()).filter(s => /^(stun|turn)s?:/.test(s))
    storage.setItem(ICE_KEY, JSON.stringify(urls))
    return urls.map(url => ({ urls: url }))
  }
  try {
    const stored: unknown = JSON.parse(storage.getItem(ICE_KEY) ?? '[]')
    return Array.isArray(stored) ? stored.filter((u): u is string => typeof u === 'string').map(url => ({ urls: url })) : []
  } catch {
    return []
  }
}
