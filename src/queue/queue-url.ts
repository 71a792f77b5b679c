/**
 * The queue a sweep or a worker uses, named by one URL: redis://[USER[:PASSWORD]@]HOST[:PORT]/NAME
 * (rediss:// for TLS; ?db=N picks a Redis database). The path is the queue's name, not a
 * database number as in plain Redis URLs, because a queue is what users share between a sweep
 * and its workers.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';

/** A parsed queue URL. */
export interface QueueLocation {
  /** The URL as shown to people: the password, if any, replaced by '***'. */
  display: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** Redis database number (default 0). */
  db: number;
  tls: boolean;
  /** The queue's name (BullMQ's queue name). */
  name: string;
}

const EXAMPLE = 'redis://127.0.0.1:6379/vmsim';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Parses a queue URL; a VmmError EINVAL naming what is wrong (and never echoing a password) otherwise. */
export function parseQueueUrl(text: unknown): QueueLocation {
  if (typeof text !== 'string') throw new VmmError('EINVAL', `queue URL must be a string like ${EXAMPLE}, got ${describe(text)}`);
  const bad = (why: string): never => {
    throw new VmmError('EINVAL', `queue URL ${JSON.stringify(maskPassword(text))}: ${why} (expected redis://HOST:PORT/NAME, e.g. ${EXAMPLE})`);
  };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) bad('not a URL (it starts with redis://)');
  if (scheme !== 'redis' && scheme !== 'rediss') bad(`unsupported scheme "${scheme}://" (the queue is BullMQ on Redis: redis://, or rediss:// for TLS)`);
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(text)?.[1];
  if (authority === undefined) bad('has no //HOST:PORT part');
  const portText = /:(\d*)$/.exec(authority!.replace(/^.*@/, '').replace(/^\[[^\]]*\]/, ''))?.[1];
  // "redis://host:/q": an empty port is a typo, not a request for the default.
  if (portText === '') bad('has an empty port');
  if (portText !== undefined && !(Number(portText) >= 1 && Number(portText) <= 65535)) bad(`port ${portText} is not in [1, 65535]`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return bad('not a valid URL');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') bad('names no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = decode(u.pathname.replace(/^\//, ''), bad);
  if (path === '') bad('names no queue: add /NAME after the host and port');
  if (!NAME.test(path)) bad(`queue name ${JSON.stringify(path)} must be 1-100 letters, digits, '.', '_' or '-' (starting with a letter or digit)`);
  let db = 0;
  for (const [k, v] of u.searchParams) {
    if (k !== 'db') bad(`unknown parameter ${JSON.stringify(k)} (only ?db=N)`);
    if (!/^\d{1,5}$/.test(v)) bad(`db must be a database number, got ${JSON.stringify(v)}`);
    db = Number(v);
  }
  if (u.hash !== '') bad('has a #fragment');
  const loc: QueueLocation = { display: maskPassword(text), host, port, db, tls: scheme === 'rediss', name: path };
  if (u.username !== '') loc.username = decode(u.username, bad);
  if (u.password !== '') loc.password = decode(u.password, bad);
  return loc;
}

function decode(s: string, bad: (why: string) => never): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return bad('has a bad %-escape');
  }
}

/** The URL with its password (between ':' and '@' after the scheme) replaced by '***'. */
export function maskPassword(text: string): string {
  return text.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
