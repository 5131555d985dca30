/**
 * The page's entry: state first, then the view, then the network that fills
 * the state. Data flows one way: network -> state -> components.
 */
import { mount } from 'svelte'
import { messageSend } from '../protocol/build.ts'
import App from './App.svelte'
import { startCompanionNetwork } from './companion-network.ts'
import type { CompanionNetwork } from './companion-network.ts'
import { NetworkState } from './network-state.svelte.ts'
import { readIceServers } from './settings.ts'
import { installTestHooks } from './test-hooks.ts'

const state = new NetworkState()
let network: CompanionNetwork | undefined

async function send (text: string): Promise<void> {
  if (network === undefined) throw new Error('still starting')
  // Until companions know each other (card exchange), a person's line is addressed to everyone.
  await network.publish('messages', messageSend({ from: `user_${state.peerId.slice(-8)}`, to: [], message: text }))
}

mount(App, { target: document.getElementById('app')!, props: { state, send } })

startCompanionNetwork(state, {
  relayInfoUrl: new URL('/api/relay', location.href).toString(),
  iceServers: readIceServers(location.search, localStorage),
  discoveryInterval: 1000
}).then((started) => {
  network = started
  installTestHooks(started)
}, (err: Error) => {
  state.relayStatus = 'offline'
  state.relayError = `could not start: ${err.message}`
})
