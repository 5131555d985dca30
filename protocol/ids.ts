/**
 * Random ids (UUID v4 form) that work everywhere: `crypto.randomUUID` exists
 * only in secure contexts, and a page opened from a LAN address over plain
 * http is not one; `crypto.getRandomValues` is available in both.
 */
export function randomId (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = [...bytes].map(b => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
