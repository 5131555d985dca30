/**
 * The key of the private room a tab is in (protocol/private-rooms.ts): from
 * the link's `#key=`, or made from the passphrase the person gives. Nothing
 * of the room starts before it is here: the node joins the room with it and
 * the room's history is opened with it. The key stays in this tab's address
 * (after `#`, never sent to a server), so a reload keeps the room open.
 */
import { checkPassphrase, roomKeyFromPassphrase, roomKeyFromSecret } from '../protocol/private-rooms.ts'
import type { RoomKey } from '../protocol/private-rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { NetworkState } from './network-state.ts'
import { readRoomSecret, roomUrl } from './settings.ts'

export interface RoomUnlock {
  /** The room's key, once the link or the person gave it. */
  key: Promise<RoomKey>
  /** Makes the key from a passphrase the person typed; the lock says why when it will not do. */
  tryPassphrase: (passphrase: string) => Promise<void>
}

export function unlockRoom (room: RoomName, state: NetworkState): RoomUnlock {
  const key = Promise.withResolvers<RoomKey>()
  const open = (found: RoomKey): void => {
    history.replaceState(history.state, '', roomUrl(location.href, room, found.secret))
    state.roomSecret = found.secret
    state.lock = 'open'
    state.lockProblem = ''
    key.resolve(found)
  }
  const secret = readRoomSecret(location.hash)
  if (globalThis.crypto?.subtle === undefined) {
    state.lock = 'insecure'
  } else if (secret === undefined) {
    state.lock = 'locked'
  } else {
    state.lock = 'unlocking'
    roomKeyFromSecret(room, secret).then(open, (err: Error) => {
      state.lock = 'locked'
      state.lockProblem = `the link's key will not do (${err.message}); give the passphrase instead`
    })
  }
  return {
    key: key.promise,
    tryPassphrase: async (passphrase) => {
      if (state.lock !== 'locked') return
      const checked = checkPassphrase(passphrase)
      if (!checked.ok) {
        state.lockProblem = checked.message
        return
      }
      state.lock = 'unlocking'
      try {
        open(await roomKeyFromPassphrase(room, passphrase))
      } catch (err) {
        state.lock = 'locked'
        state.lockProblem = (err as Error).message
      }
    }
  }
}
