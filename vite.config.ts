import { defineConfig } from 'vite'
import type { Plugin } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

/**
 * The page's first steps (web/boot.ts) are a script of their own, ahead of
 * the main one in index.html: they ask what the first dial needs while the
 * browser still parses the main chunk. (Vite would fold a second module
 * script of index.html into the main chunk, which runs only once all of it
 * is parsed.) In the build, boot is an entry of its own (`input` below);
 * the main chunk imports the same module, so it runs once.
 */
function bootFirst (): Plugin {
  return {
    name: 'kotoba-boot-first',
    transformIndexHtml: {
      order: 'post',
      handler: (html, context) => {
        const built = Object.values(context.bundle ?? {}).find(chunk => chunk.type === 'chunk' && chunk.isEntry && chunk.name === 'boot')
        if (context.bundle !== undefined && built === undefined) throw new Error('the build has no boot entry (web/boot.ts)')
        const src = built === undefined ? '/web/boot.ts' : `/${built.fileName}`
        // Module scripts run in the order they stand: boot's goes before the first one.
        const first = html.indexOf('<script type="module"')
        if (first < 0) throw new Error('index.html has no module script to put the boot script before')
        return `${html.slice(0, first)}<script type="module" crossorigin src="${src}"></script>\n    ${html.slice(first)}`
      }
    }
  }
}

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
  plugins: [svelte(), bootFirst()],
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
          // The page, its first steps (see bootFirst), and its service worker at the site's root
          // (web/service-worker.ts: it imports nothing).
          input: { index: 'index.html', boot: 'web/boot.ts', sw: 'web/service-worker.ts' },
          output: {
            entryFileNames: (chunk) => chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js',
            codeSplitting: {
              groups: [
                // Svelte's runtime in a chunk of its own, which the page's first load does not
                // carry (its state there is web/watched-fields.ts): the view, the companion's state
                // and its session load it once the relay is reached. It makes an Error as it loads
                // (its STALE_REACTION), and where the browser keeps detailed stack traces
                // (developer tools open, a test's browser) V8 then re-parses the whole script that
                // made it for its source positions: 17-30 ms of main thread when that was the
                // 650 kB main chunk, about 1 ms as a chunk of its own.
                { name: 'svelte', test: /[\\/]node_modules[\\/]svelte[\\/]/ }
              ]
            }
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
