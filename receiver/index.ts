/** pipemon/receiver: run the OTLP receiver inside another program (tests, embedding). */
export { startReceiver, DEFAULTS, type Receiver, type ReceiverOptions } from './serve.js';
export { createKey, listKeys, revokeKey, SCOPES, type Scope } from './auth/keys.js';
export { openDatabase } from './storage/open.js';
export type { Database, Queryable, Transaction } from './storage/database.js';
