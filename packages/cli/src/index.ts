// The reusable parts of the CLI: a Node client for the imv protocol (used by bench/ and tests).
export { ImvClient, randomStreamId } from './client/imv-client.js';
export type { ConnectOptions, ImvClientEvents } from './client/imv-client.js';
export { ImvClientError } from './client/client-error.js';
export type { ClientErrorCode } from './client/client-error.js';
export { OutgoingTalk } from './client/outgoing-talk.js';
export type { TalkEncryption } from './client/outgoing-talk.js';
export {
  DEFAULT_SERVER_URL,
  pickServerUrl,
  toHttpBase,
  toWebSocketUrl,
} from './client/server-url.js';
export {
  ROOM_KEY_HEADER,
  downloadFrames,
  downloadMessage,
  fetchHistory,
  fetchMessage,
  restRequest,
  splitFrames,
} from './client/rest.js';
export type { HistoryQuery, RestOptions, RestRequest } from './client/rest.js';
export { CANNOT_DECRYPT, UndecryptableError, decryptMessageToOgg } from './e2e/decrypt-message.js';
export { sendPaced } from './outgoing/pace.js';
