/** The content hash of a trace (or snapshot) file: SHA-256 of its bytes as stored, compressed or not. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex SHA-256 of the file at `path`, or of the open file `fd` from its start (the descriptor stays open). */
export async function hashFile(file: string | number): Promise<string> {
  const h = createHash('sha256');
  const stream = typeof file === 'number' ? createReadStream('', { fd: file, start: 0, autoClose: false }) : createReadStream(file);
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}
