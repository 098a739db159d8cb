// The reusable parts of the CLI: a Node client for the imv protocol (used by bench/ and tests).
export { ImvClient, randomStreamId } from './client/imv-client.js';
export type { ConnectOptions, ImvClientEvents } from './client/imv-client.js';
export { ImvClientError } from './client/client-error.js';
export type { ClientErrorCode } from './client/client-error.js';
export { OutgoingTalk } from './client/outgoing-talk.js';
export { DEFAULT_SERVER_URL, pickServerUrl, toHttpBase, toWebSocketUrl } from './client/server-url.js';
export { downloadMessage, fetchHistory } from './client/rest.js';
export type { HistoryQuery } from './client/rest.js';
export { sendPaced } from './outgoing/pace.js';
