/**
 * A tiny chat model written by the test suite itself (no model can be
 * downloaded here): a GGUF file of the llama architecture with seeded random
 * F32 weights, width 64, two blocks, a byte-level BPE vocabulary (the 256
 * GPT-2 byte characters and three ChatML control tokens, no merges) and a
 * ChatML chat template. About 0.5 MB; llama.cpp (wllama) loads it and, with
 * a grammar, answers in JSON that parses.
 *
 * One dimension of the residual stream is held constant (the embeddings set
 * it, no layer writes to it) so that the output layer can add a fixed
 * preference per token: lower-case letters are likely, whitespace and odd
 * bytes are not, a closing quote now and then. Under a JSON grammar that
 * keeps the answers short and readable-ish ("kqzv mtor…") instead of runs of
 * whitespace; without one it writes letters until it runs out of tokens.
 */
import { createHash } from 'node:crypto'
import { seededRandom } from '../../companion/random.ts'

const WIDTH = 64
const BLOCKS = 2
const HEADS = 4
const FFN = 128
const CONTEXT = 4096
const ALIGNMENT = 32
/** The residual dimension that carries the constant. */
const BIAS_DIM = 0

const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

/** GPT-2's byte → printable character table (what byte-level BPE vocabularies hold). */
function byteCharacters (): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
  const chars: string[] = []
  let extra = 0
  for (let b = 0; b < 256; b++) chars.push(String.fromCodePoint(printable(b) ? b : 256 + extra++))
  return chars
}

/** How much the model likes to write each byte (a logit offset). */
function bytePreference (b: number): number {
  const c = String.fromCharCode(b)
  if (/[a-z]/.test(c)) return 4
  if (c === ' ') return 4.6
  if (c === '"') return 3.5
  if (/[,}\]]/.test(c)) return 3.5
  if (/[0-9]/.test(c)) return 2
  if (/\s/.test(c)) return -6
  if (b >= 0x80 || b < 0x20) return -6
  return 0
}

const TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const

class Writer {
  private readonly parts: Buffer[] = []
  size = 0
  push (b: Buffer): void { this.parts.push(b); this.size += b.length }
  u32 (n: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(n); this.push(b) }
  i32 (n: number): void { const b = Buffer.alloc(4); b.writeInt32LE(n); this.push(b) }
  u64 (n: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); this.push(b) }
  f32 (n: number): void { const b = Buffer.alloc(4); b.writeFloatLE(n); this.push(b) }
  str (s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b) }
  pad (): void { const n = (ALIGNMENT - (this.size % ALIGNMENT)) % ALIGNMENT; if (n > 0) this.push(Buffer.alloc(n)) }
  bytes (): Buffer { return Buffer.concat(this.parts) }
}

type Value = { type: 'u32', value: number } | { type: 'f32', value: number } | { type: 'bool', value: boolean } | { type: 'string', value: string } | { type: 'strings', value: string[] } | { type: 'i32s', value: number[] }

function writeValue (w: Writer, v: Value): void {
  switch (v.type) {
    case 'u32': w.u32(TYPE.u32); w.u32(v.value); break
    case 'f32': w.u32(TYPE.f32); w.f32(v.value); break
    case 'bool': w.u32(TYPE.bool); w.push(Buffer.from([v.value ? 1 : 0])); break
    case 'string': w.u32(TYPE.string); w.str(v.value); break
    case 'strings': w.u32(TYPE.array); w.u32(TYPE.string); w.u64(v.value.length); for (const s of v.value) w.str(s); break
    case 'i32s': w.u32(TYPE.array); w.u32(TYPE.i32); w.u64(v.value.length); for (const n of v.value) w.i32(n); break
  }
}

interface Tensor { name: string, dims: number[], data: Float32Array }

export interface TinyModel {
  bytes: Buffer
  sha256: string
}

/** Writes the tiny model; the same `seed` gives the same bytes. */
export function tinyGguf (seed = 1): TinyModel {
  const rand = seededRandom(seed)
  const bytes = byteCharacters()
  const control = ['<|endoftext|>', '<|im_start|>', '<|im_end|>']
  const tokens = [...bytes, ...control]
  const vocab = tokens.length
  const noise = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale)
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1)

  const embeddings = noise(WIDTH * vocab, 0.1)
  for (let t = 0; t < vocab; t++) embeddings[t * WIDTH + BIAS_DIM] = 4
  const output = noise(WIDTH * vocab, 0.1)
  for (let t = 0; t < vocab; t++) output[t * WIDTH + BIAS_DIM] = t < 256 ? bytePreference(t) / 4 : t === vocab - 1 ? 0.5 : -3
  /** A projection into the residual stream that leaves the constant alone. */
  const intoResidual = (inner: number): Float32Array => {
    const m = noise(inner * WIDTH, 0.1)
    for (let i = 0; i < inner; i++) m[BIAS_DIM * inner + i] = 0
    return m
  }

  const tensors: Tensor[] = [
    { name: 'token_embd.weight', dims: [WIDTH, vocab], data: embeddings },
    { name: 'output_norm.weight', dims: [WIDTH], data: ones(WIDTH) },
    { name: 'output.weight', dims: [WIDTH, vocab], data: output }
  ]
  for (let i = 0; i < BLOCKS; i++) {
    tensors.push(
      { name: `blk.${i}.attn_norm.weight`, dims: [WIDTH], data: ones(WIDTH) },
      { name: `blk.${i}.attn_q.weight`, dims: [WIDTH, WIDTH], data: noise(WIDTH * WIDTH, 0.1) },
      { name: `blk.${i}.attn_k.weight`, dims: [WIDTH, WIDTH], data: noise(WIDTH * WIDTH, 0.1) },
      { name: `blk.${i}.attn_v.weight`, dims: [WIDTH, WIDTH], data: noise(WIDTH * WIDTH, 0.1) },
      { name: `blk.${i}.attn_output.weight`, dims: [WIDTH, WIDTH], data: intoResidual(WIDTH) },
      { name: `blk.${i}.ffn_norm.weight`, dims: [WIDTH], data: ones(WIDTH) },
      { name: `blk.${i}.ffn_gate.weight`, dims: [WIDTH, FFN], data: noise(WIDTH * FFN, 0.1) },
      { name: `blk.${i}.ffn_up.weight`, dims: [WIDTH, FFN], data: noise(WIDTH * FFN, 0.1) },
      { name: `blk.${i}.ffn_down.weight`, dims: [FFN, WIDTH], data: intoResidual(FFN) }
    )
  }

  const meta: Array<[string, Value]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: `kotoba tiny test model (seed ${seed})` }],
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    ['llama.context_length', { type: 'u32', value: CONTEXT }],
    ['llama.embedding_length', { type: 'u32', value: WIDTH }],
    ['llama.block_count', { type: 'u32', value: BLOCKS }],
    ['llama.feed_forward_length', { type: 'u32', value: FFN }],
    ['llama.attention.head_count', { type: 'u32', value: HEADS }],
    ['llama.attention.head_count_kv', { type: 'u32', value: HEADS }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.rope.dimension_count', { type: 'u32', value: WIDTH / HEADS }],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'default' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: tokens.map((_, i) => i < 256 ? 1 : 3) }],
    ['tokenizer.ggml.merges', { type: 'strings', value: [] }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 256 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 258 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML }]
  ]

  const w = new Writer()
  w.push(Buffer.from('GGUF', 'latin1'))
  w.u32(3)
  w.u64(tensors.length)
  w.u64(meta.length)
  for (const [key, value] of meta) { w.str(key); writeValue(w, value) }
  let offset = 0
  for (const t of tensors) {
    w.str(t.name)
    w.u32(t.dims.length)
    for (const d of t.dims) w.u64(d)
    w.u32(0) // F32
    w.u64(offset)
    offset += Math.ceil((t.data.byteLength) / ALIGNMENT) * ALIGNMENT
  }
  w.pad()
  for (const t of tensors) {
    w.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))
    w.pad()
  }
  const out = w.bytes()
  return { bytes: out, sha256: createHash('sha256').update(out).digest('hex') }
}
