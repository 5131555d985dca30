// A firehose client of a private room: it reads and says lines the relay only
// passes on sealed. The key stays here; the relay never sees it.
//
//   KOTOBA_ROOM_KEY='our long passphrase' node docs/examples/private-room.mjs ws://HOST:PORT/firehose '~team' ['a line to say']
//
// KOTOBA_ROOM_KEY is the room's passphrase, or its secret (the 43 characters
// after #key= in a share link). KOTOBA_FIREHOSE_TOKEN: the relay's publish
// token, if it has one. Node 22+; in a browser (a secure page) roomKey, seal and open are the same.
const [firehose, room, say] = process.argv.slice(2)
const { subtle } = globalThis.crypto
const utf8 = new TextEncoder()
const b64 = {
  to: (bytes) => btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''),
  from: (text) => Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), c => c.charCodeAt(0))
}

// The room's AES-GCM key: its secret's 32 bytes, or PBKDF2-SHA-256 of the passphrase salted with the room's name.
async function roomKey (given) {
  let raw = /^[A-Za-z0-9_-]{43}$/.test(given) ? b64.from(given) : undefined
  if (raw === undefined) {
    const material = await subtle.importKey('raw', utf8.encode(given.normalize('NFC')), 'PBKDF2', false, ['deriveBits'])
    raw = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: utf8.encode(`kotoba private room v1 ${room}`), iterations: 600_000 }, material, 256)
  }
  return await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
}

// Each payload travels as {"sealed": base64url(iv ‖ AES-GCM ciphertext)}, the GossipSub topic's name as additional data.
const topicName = (topic) => `kotoba/room/${room}/${topic}`
async function seal (key, topic, payload) {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const cipher = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8.encode(topicName(topic)) }, key, utf8.encode(JSON.stringify(payload))))
  return { sealed: b64.to(new Uint8Array([...iv, ...cipher])) }
}
async function open (key, topic, { sealed }) {
  const bytes = b64.from(sealed)
  const plain = await subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 12), additionalData: utf8.encode(topicName(topic)) }, key, bytes.subarray(12))
  return JSON.parse(new TextDecoder().decode(plain))
}

const key = await roomKey(process.env.KOTOBA_ROOM_KEY ?? '')
const url = new URL(firehose)
url.searchParams.set('room', room)
url.searchParams.set('v', '1')
if (process.env.KOTOBA_FIREHOSE_TOKEN) url.searchParams.set('token', process.env.KOTOBA_FIREHOSE_TOKEN)
const ws = new WebSocket(url)
ws.onmessage = async ({ data }) => {
  const frame = JSON.parse(data)
  if (frame.type === 'welcome' && say) {
    const line = { jsonrpc: '2.0', method: 'message.send', params: { id: crypto.randomUUID(), from: 'user_script', to: [], message: say } }
    ws.send(JSON.stringify({ type: 'publish', id: 'say', topic: 'messages', body: await seal(key, 'messages', line) }))
  } else if (frame.type === 'event' && frame.topic === 'messages') {
    try {
      const { params } = await open(key, 'messages', frame.payload)
      console.log(`${params.from}: ${params.message}`)
    } catch {
      console.log(`(a line sealed with another key, event ${frame.seq})`)
    }
  } else if (frame.type === 'ack' || frame.type === 'error') {
    console.log(JSON.stringify(frame))
  }
}
