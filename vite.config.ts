import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

/**
 * `vite build` builds two things:
 * - the page (`dist/`), which the relay serves, and its service worker
 *   (`dist/sw.js`);
 * - the relay and the headless companion for Node (`dist-node/`): one
 *   bundle each, with every dependency in it, which `node relay` and
 *   `npm run companion` run when it is newer than the sources (see
 *   host/launcher.js). One file instead of hundreds of modules is most of
 *   what keeps an idle relay light.
 */
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
  environments: {
    client: {
      build: {
        rolldownOptions: {
          // The page, and its service worker at the site's root (web/service-worker.ts: it imports nothing).
          input: { index: 'index.html', sw: 'web/service-worker.ts' },
          output: {
            entryFileNames: (chunk) => chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'
          }
        }
      }
    },
    ssr: {
      consumer: 'server',
      resolve: {
        // Bundle the dependencies too, but the native WebRTC binding (the
        // headless companion loads it from node_modules).
        noExternal: true,
        external: ['node-datachannel']
      },
      build: {
        outDir: 'dist-node',
        emptyOutDir: true,
        // Not minified: readable stack traces, and no renamed classes (some
        // dependencies tell errors apart by their constructor's name; mangled
        // names broke the relay's links between tabs). It weighs the same in
        // memory.
        minify: false,
        manifest: false,
        chunkSizeWarningLimit: 4096,
        rolldownOptions: {
          input: { relay: 'relay/main.ts', companion: 'headless/main.ts' },
          output: {
            format: 'esm',
            entryFileNames: '[name].js',
            // What both entries share (libp2p and the rest), and what the
            // relay loads only with --companion.
            chunkFileNames: (chunk) => chunk.isDynamicEntry ? '[name]-[hash].js' : 'shared-[hash].js'
          }
        }
      }
    }
  },
  builder: {},
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
