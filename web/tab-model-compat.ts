/**
 * The engine's compatibility build (@wllama/wllama-compat: Asyncify instead
 * of JSPI, 32-bit memory) for browsers without WebAssembly JSPI or memory64,
 * Safari above all. Slower, and 16 MB; served from the page's origin (the
 * engine would otherwise fetch it from a CDN), and loaded only by a browser
 * that needs it.
 */
import wasm from '@wllama/wllama-compat/wasm/wllama.wasm?url'
import code from '@wllama/wllama-compat/wasm/wllama.js?raw'

export const COMPAT_ASSETS = { wasm, worker: { code } }
