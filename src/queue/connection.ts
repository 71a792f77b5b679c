/**
 * Reaching the queue's Redis. BullMQ's own connections retry forever (right for a worker whose
 * Redis restarts), so a connection that can never work — nothing listening, an unknown host, a
 * wrong password — would make `vmsim sweep --queue` or `vmsim worker` hang. One probe first,
 * with no retry and a short timeout, turns that into a clear error within seconds.
 */
import { Redis } from 'ioredis';
import { QueueError } from './queue-error.js';
import type { QueueLocation } from './queue-url.js';

/** Connection options for BullMQ (ioredis options) for the queue at `loc`. */
export function redisOptions(loc: QueueLocation): { host: string; port: number; db: number; username?: string; password?: string; tls?: object } {
  return { host: loc.host, port: loc.port, db: loc.db, ...(loc.username !== undefined ? { username: loc.username } : {}), ...(loc.password !== undefined ? { password: loc.password } : {}), ...(loc.tls ? { tls: {} } : {}) };
}

/** Connects once (no retry, `timeoutMs` at most) and pings; QueueError with the reason otherwise. Leaves no connection open. */
export async function probeQueue(loc: QueueLocation, timeoutMs = 3000): Promise<void> {
  const where = `${loc.host}:${loc.port}`;
  const client = new Redis({ ...redisOptions(loc), lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, disconnectTimeout: 200 });
  // The socket's error says why (ECONNREFUSED, ENOTFOUND, ...); connect() itself only rejects with "Connection is closed".
  let first: unknown;
  client.on('error', (e) => (first ??= e));
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new QueueError('EQUEUE', `${where} answered PING with ${JSON.stringify(String(pong).slice(0, 40))}: is it a Redis server?`);
  } catch (e) {
    if (e instanceof QueueError) throw e;
    throw connectionError(first ?? e, loc);
  } finally {
    // A socket that never opened is closed already; disconnect() would then wait out its timer.
    if (client.status !== 'end') client.disconnect();
  }
}

/** The error a failed connection to `loc` becomes: what happened, where, and what to do. */
export function connectionError(e: unknown, loc: QueueLocation): QueueError {
  const where = `${loc.host}:${loc.port}`;
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'ECONNREFUSED') return new QueueError(code, `cannot reach the queue ${loc.display}: connection refused at ${where} (is redis-server running there? Debian: apt-get install redis-server)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new QueueError(code, `cannot reach the queue ${loc.display}: unknown host ${loc.host}`);
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(msg)) return new QueueError('ETIMEDOUT', `cannot reach the queue ${loc.display}: no answer from ${where} within the timeout`);
  if (/NOAUTH|WRONGPASS|invalid (username|password)/i.test(msg)) return new QueueError('EACCES', `the queue ${loc.display} refused the login: ${msg.split('\n')[0]}`);
  return new QueueError(code || 'EQUEUE', `cannot reach the queue ${loc.display}: ${msg.split('\n')[0]}`);
}
