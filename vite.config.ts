import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The libp2p browser stack is one chunk of ~700 kB; that is expected.
    chunkSizeWarningLimit: 1024,
    // dist/.vite/manifest.json: which chunks the page loads first (measured
    // by test/helpers/page-weight.ts); sirv does not serve dot-folders.
    manifest: true
  },
  server: {
    // `npm run dev` serves the page with hot reload; a relay on the default
    // port answers /api/relay and /firehose.
    proxy: {
      '/api': 'http://127.0.0.1:8787',
      '/healthz': 'http://127.0.0.1:8787',
      '/firehose': { target: 'ws://127.0.0.1:8787', ws: true }
    }
  }
})
