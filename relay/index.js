// `node relay` lands here. Plain JavaScript that any Node can parse, so an
// old Node gets a clear message instead of a syntax error: libp2p v3 needs
// Node >= 22, and this project runs its TypeScript directly (Node >= 22.18).
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`node relay: this is Node ${process.versions.node}; the relay needs Node 22.18 or newer.\n` +
    'Run `npm install && npm start` instead: the project brings its own Node (node_modules/.bin/node).')
  process.exit(1)
}
await import('./main.ts')
