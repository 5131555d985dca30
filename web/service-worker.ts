/**
 * The page's service worker (`/sw.js`, registered on https pages only):
 * it keeps the page's shell, so a reload while the relay is away still
 * opens the page, which then shows this browser's transcript of the room
 * and says the relay is away. The page itself is asked of the network
 * first (a new build is taken at once) and kept; its files, whose names
 * carry their hash, are kept the first time they are fetched. Nothing of
 * the relay's API, its firehose or its model files goes through the cache.
 *
 * A classic worker script: it imports nothing (vite.config.ts builds it
 * on its own, at the site's root, for the whole site's scope).
 */

/** What of the service worker scope this script uses (the page's lib has no worker types). */
interface WorkerScope {
  location: Location
  skipWaiting: () => Promise<void>
  clients: { claim: () => Promise<void> }
  addEventListener: (type: 'install' | 'activate' | 'fetch', listener: (event: WorkerEvent) => void) => void
}
interface WorkerEvent {
  request: Request
  waitUntil: (work: Promise<unknown>) => void
  respondWith: (response: Promise<Response>) => void
}

const scope = self as unknown as WorkerScope
const SHELL = 'kotoba-shell-v1'
/** The page, whatever its query (`?companion=…`, `?room=…`). */
const PAGE = '/'

async function keepPage (response: Response): Promise<void> {
  if (!response.ok) return
  const cache = await caches.open(SHELL)
  await cache.put(PAGE, response)
}

scope.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    // The page and the files it loads first, so that the first reload offline works.
    const response = await fetch(PAGE, { cache: 'no-store' })
    const html = await response.clone().text()
    await keepPage(response)
    // Each once: a file may be named twice (the boot script is also preloaded), and addAll refuses duplicates.
    const files = [...new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(m => m[1]))]
    await (await caches.open(SHELL)).addAll(files)
    await scope.skipWaiting()
  })())
})

scope.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== SHELL) await caches.delete(key)
    await scope.clients.claim()
  })())
})

scope.addEventListener('fetch', (event) => {
  const { request } = event
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== scope.location.origin) return
  if (request.mode === 'navigate' && url.pathname === PAGE) {
    event.respondWith(fetch(request).then(
      (response) => { void keepPage(response.clone()); return response },
      async () => await caches.match(PAGE) ?? Response.error()
    ))
    return
  }
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith((async () => {
      const kept = await caches.match(request)
      if (kept !== undefined) return kept
      const response = await fetch(request)
      if (response.ok) await (await caches.open(SHELL)).put(request, response.clone())
      return response
    })())
  }
})

export {}
