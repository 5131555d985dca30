/**
 * Companions, lines and votes for the turn-taking unit tests, and a node's
 * state among them.
 */
import { initialTurnState } from '../../companion/turn-state.ts'
import type { HistoryLine, TurnEffect, TurnState } from '../../companion/turn-state.ts'
import type { Message, State } from '../../protocol/payloads.ts'

export const A = 'companion_aya'
export const B = 'companion_bo'
export const C = 'companion_cy'
export const USER = 'user_yamada'

export const message = (id: string, from: string, to: string[], text: string, replyTo?: string): Message => ({
  jsonrpc: '2.0',
  method: 'message.send',
  params: { id, from, to, message: text, ...(replyTo === undefined ? {} : { metadata: { replyTo } }) }
})
export const line = (id: string, from: string, to: string[], text = 'hi', replyTo?: string): HistoryLine =>
  replyTo === undefined ? { id, from, to, text } : { id, from, to, text, replyTo }
export const vote = (from: string, messageId: string | undefined, state: 'speak' | 'listen', importance: number, selected = false): State => ({
  jsonrpc: '2.0',
  method: 'state.send',
  params: { from, state, importance, selected, closing: 'none', ...(messageId === undefined ? {} : { messageId }) }
})
export const ofType = <T extends TurnEffect['type']>(effects: TurnEffect[], type: T): Array<Extract<TurnEffect, { type: T }>> =>
  effects.filter((e): e is Extract<TurnEffect, { type: T }> => e.type === type)

export function node (self: string, present = [A, B, C]): TurnState {
  return { ...initialTurnState(self, self.replace('companion_', '')), present }
}
