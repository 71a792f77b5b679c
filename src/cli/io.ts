/** Where a command writes: injectable so tests can run commands in-process. */
export interface CommandIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

/** The process's own streams. */
export const PROCESS_IO: CommandIo = { stdout: process.stdout, stderr: process.stderr };
