import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ollamaFileName } from '../../relay/ollama-models.ts'

describe('Ollama\'s model names as model file names', () => {
  const cases: Array<[string, string | undefined]> = [
    ['registry.ollama.ai/library/llama3.2/1b', 'llama3.2-1b.gguf'],
    ['registry.ollama.ai/library/qwen2.5/latest', 'qwen2.5.gguf'],
    ['registry.ollama.ai/alice/notes/v1', 'alice-notes-v1.gguf'],
    ['hf.co/bartowski/SmolLM2-360M-Instruct-GGUF/Q8_0', 'bartowski-SmolLM2-360M-Instruct-GGUF-Q8_0.gguf'],
    ['registry.ollama.ai/library/odd:name/latest', 'odd_name.gguf'],
    ['stray', undefined]
  ]
  for (const [manifest, file] of cases) it(`${manifest} -> ${String(file)}`, () => { assert.equal(ollamaFileName(manifest), file) })
})
