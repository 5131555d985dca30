import { defineConfig } from 'vite'

/** The bare js-libp2p page of `npm run bench -- p2p`, built into bench/.bare-dist (served by the benchmark itself). */
export default defineConfig({
  root: import.meta.dirname,
  logLevel: 'warn',
  build: { outDir: '../.bare-dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 }
})
