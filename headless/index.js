// `npm run companion` lands here. Plain JavaScript that any Node can parse, so
// an old Node gets a clear message instead of a syntax error (see relay/index.js).
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`companion: this is Node ${process.versions.node}; the companion needs Node 22.18 or newer.\n` +
    'Run it with `npm run companion -- --card FILE`: the project brings its own Node (node_modules/.bin/node).')
  process.exit(1)
}
await import('./main.ts')
