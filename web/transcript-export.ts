/**
 * A room's conversation as a file a person keeps: Markdown to read, JSON for
 * programs (each line with its id, speaker, addressees, text, emotion, time
 * and the line it answers). Loaded on the first click of a download button.
 */
import type { TimelineLine } from './companion-state.svelte.ts'

export function transcriptMarkdown (room: string, lines: readonly TimelineLine[], nameOf: (id: string) => string, now = new Date()): string {
  const out = [`# kotoba, room ${room}`, '', `Saved ${now.toISOString()}; ${lines.length} ${lines.length === 1 ? 'line' : 'lines'}.`, '']
  for (const l of lines) {
    const to = l.to.length === 0 ? '' : ` → ${l.to.map(nameOf).join(', ')}`
    const emotion = l.emotion === '' ? '' : ` (${l.emotion})`
    // Text on one line, so a line cannot start a heading or a list of its own.
    const text = l.text.replace(/\s*\n\s*/g, ' ')
    out.push(`- **${nameOf(l.from)}**${to}, ${new Date(l.time).toISOString()}${emotion}: ${text}`)
  }
  return out.join('\n') + '\n'
}

export function transcriptJson (room: string, lines: readonly TimelineLine[], nameOf: (id: string) => string, now = new Date()): string {
  return JSON.stringify({
    room,
    savedAt: now.toISOString(),
    lines: lines.map(l => ({
      id: l.id,
      from: l.from,
      fromName: nameOf(l.from),
      to: l.to,
      text: l.text,
      ...(l.emotion === '' ? {} : { emotion: l.emotion }),
      ...(l.replyTo === undefined ? {} : { replyTo: l.replyTo }),
      time: new Date(l.time).toISOString()
    }))
  }, null, 2) + '\n'
}

/** Offers the transcript as a download named after the room and the day. */
export function saveTranscript (format: 'md' | 'json', room: string, lines: readonly TimelineLine[], nameOf: (id: string) => string): void {
  const now = new Date()
  const text = format === 'md' ? transcriptMarkdown(room, lines, nameOf, now) : transcriptJson(room, lines, nameOf, now)
  const url = URL.createObjectURL(new Blob([text], { type: format === 'md' ? 'text/markdown' : 'application/json' }))
  const a = document.createElement('a')
  a.href = url
  a.download = `kotoba-${room}-${now.toISOString().slice(0, 10)}.${format}`
  a.click()
  setTimeout(() => { URL.revokeObjectURL(url) }, 10_000)
}
