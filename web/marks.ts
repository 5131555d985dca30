/**
 * Names of the performance marks the page sets on its way up, which a
 * benchmark reads back with `performance.getEntriesByName`.
 */
export const MARKS = {
  /** The tab's first steps run (web/boot.ts, before the main code is in). */
  boot: 'kotoba:boot',
  /** The page's script runs (its code fetched and evaluated). */
  scriptStart: 'kotoba:script-start',
  /** The tab's identity (key and card) is claimed. */
  identity: 'kotoba:identity',
  /** The relay's `/api/relay` answered. */
  relayInfo: 'kotoba:relay-info',
  /** The libp2p node is made. */
  nodeMade: 'kotoba:node-made',
  relayConnected: 'kotoba:relay-connected',
  relayReserved: 'kotoba:relay-reserved',
  firstWebRTC: 'kotoba:first-webrtc',
  companionBorn: 'kotoba:companion-born',
  /** The relay's history of the room is on the page. */
  historyShown: 'kotoba:history-shown'
} as const
