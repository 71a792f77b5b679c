/** What goes wrong between vmsim and its job queue: the connection, or a job a worker refuses. */

/** A queue cannot be reached or refused a request; `code` is the system's error code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ...) or EQUEUE. */
export class QueueError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'QueueError';
    this.code = code;
  }
}
