/**
 * The JSON-RPC 2.0 payloads of the aikyo protocol, written once as valibot
 * schemas; every TypeScript type is inferred from its schema.
 *
 * Objects are "loose": unknown fields are kept, so a newer peer's extra
 * fields pass through untouched. Compatibility rules (docs/protocol.md):
 * - `messages` also accepts the seed's bare `{id, from, to, message}` form,
 *   normalised to `message.send`;
 * - `states` accepts one state or an array of states (aikyo's leader sends arrays);
 * - `queries` accepts a query or a query result (newer aikyo answers there).
 */
import * as v from 'valibot'

const Metadata = v.record(v.string(), v.unknown())

const Id = v.pipe(v.string(), v.minLength(1, 'must not be empty'))

const Envelope = <M extends string, P extends v.GenericSchema>(method: M, params: P) =>
  v.looseObject({
    jsonrpc: v.literal('2.0'),
    method: v.literal(method),
    params
  })

/** The fields of a line's `metadata` this implementation reads. */
const MetadataFields = v.looseObject({
  /** The line its writer was answering (the reply tree: docs/protocol.md). */
  replyTo: v.optional(Id),
  /** The name a person goes by (companions go by their card's). */
  name: v.optional(v.string()),
  /** How the writer feels (aikyo's companions say it too). */
  emotion: v.optional(v.string())
})
export type MessageMetadata = v.InferOutput<typeof MetadataFields>

/**
 * A line's `metadata`: the fields this implementation reads, typed; any
 * other field (aikyo's, a client's) passes through untouched. Checked, not
 * rebuilt: the object keeps its keys in the order they came, since aikyo
 * elects a line's leader from the hash of the line as it arrived.
 */
export const MessageMetadataSchema = v.custom<MessageMetadata>(
  value => v.is(MetadataFields, value),
  'metadata: replyTo must be a non-empty string, name and emotion strings'
)

const MessageParams = v.looseObject({
  id: Id,
  from: Id,
  to: v.array(v.string()),
  message: v.string(),
  metadata: v.optional(MessageMetadataSchema)
})

export const MessageSchema = Envelope('message.send', MessageParams)
export type Message = v.InferOutput<typeof MessageSchema>

/** The seed's older message form, without the JSON-RPC envelope. */
export const LegacyMessageSchema = MessageParams

export const ActionSchema = Envelope('action.send', v.looseObject({
  from: Id,
  name: Id,
  params: Metadata,
  metadata: v.optional(Metadata)
}))
export type Action = v.InferOutput<typeof ActionSchema>

export const CLOSING_STAGES = ['none', 'pre-closing', 'closing', 'terminal'] as const

export const StateSchema = Envelope('state.send', v.looseObject({
  from: Id,
  messageId: v.optional(v.string()),
  state: v.picklist(['speak', 'listen']),
  importance: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10)),
  selected: v.boolean(),
  closing: v.optional(v.picklist(CLOSING_STAGES), 'none')
}))
export type State = v.InferOutput<typeof StateSchema>

export const QuerySchema = v.looseObject({
  jsonrpc: v.literal('2.0'),
  method: v.literal('query.send'),
  id: Id,
  params: v.looseObject({
    from: Id,
    type: Id,
    body: v.optional(Metadata)
  })
})
export type Query = v.InferOutput<typeof QuerySchema>

export const QueryResultSchema = v.looseObject({
  jsonrpc: v.literal('2.0'),
  id: Id,
  result: v.optional(v.looseObject({
    success: v.boolean(),
    body: Metadata
  })),
  error: v.optional(v.string())
})
export type QueryResult = v.InferOutput<typeof QueryResultSchema>

/** A companion's card, served over the metadata protocol. */
export const CompanionCardSchema = v.looseObject({
  id: Id,
  name: v.string(),
  personality: v.string(),
  story: v.string(),
  sample: v.string()
})
export type CompanionCard = v.InferOutput<typeof CompanionCardSchema>

/** Exactly the five fields aikyo accepts, from any card-like value; undefined if it is not one. */
export function toCard (value: unknown): CompanionCard | undefined {
  const result = v.safeParse(CompanionCardSchema, value)
  if (!result.success) return undefined
  const { id, name, personality, story, sample } = result.output
  return { id, name, personality, story, sample }
}

/** What each topic carries once decoded and normalised. */
export interface TopicPayloads {
  messages: Message
  actions: Action
  states: State[]
  queries: Query | QueryResult
  'query-results': QueryResult
}

/** What a node may publish on each topic: as decoded, but one state alone (a vote) or an array of them (a decision). */
export interface PublishedPayloads extends Omit<TopicPayloads, 'states'> {
  states: State | State[]
}

/**
 * The one rule for what a `states` payload is: a vote is a state that names
 * its line (`messageId`, ours only); a decision is states none of which
 * does (a leader's array, ours or aikyo's, which aikyo validates strictly).
 */
export const isDecision = (states: readonly State[]): boolean => states.length > 0 && states.every(s => s.params.messageId === undefined)

/** Tells a query from a query result (both travel on `queries`). */
export const isQuery = (payload: Query | QueryResult): payload is Query => payload.method === 'query.send'
