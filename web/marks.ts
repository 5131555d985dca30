/**
 * Names of the performance marks the page sets on its way up, which a
 * benchmark reads back with `performance.getEntriesByName`.
 */
export const MARKS = {
  relayConnected: 'kotoba:relay-connected',
  relayReserved: 'kotoba:relay-reserved',
  firstWebRTC: 'kotoba:first-webrtc',
  companionBorn: 'kotoba:companion-born',
  /** The relay's history of the room is on the page. */
  historyShown: 'kotoba:history-shown'
} as const
