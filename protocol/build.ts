/**
 * Builders for the payloads we publish, so every sender writes the exact
 * aikyo shape (aikyo validates strictly: no extra fields).
 */
import { randomId } from './ids.ts'
import type { Message, MessageMetadata } from './payloads.ts'

export interface MessageInit {
  from: string
  to: string[]
  message: string
  metadata?: MessageMetadata
  /** Defaults to a fresh UUID. */
  id?: string
}

export function messageSend (init: MessageInit): Message {
  const params: Message['params'] = {
    id: init.id ?? randomId(),
    from: init.from,
    to: init.to,
    message: init.message
  }
  if (init.metadata !== undefined) params.metadata = init.metadata
  return { jsonrpc: '2.0', method: 'message.send', params }
}
