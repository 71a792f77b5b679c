/** A runtime error's message as the user should read it: the names they gave, not the command's temporary files. */

/** Replaces a conversion's temporary output (OUT.PID.TIME.tmp) by OUT and a sweep's binary copy by what it is. */
export function hideTempNames(message: string): string {
  return message
    .replace(/([^\s'"]+?)\.\d+\.\d+\.tmp\b/g, '$1')
    .replace(/[^\s'"]*\/vmsim-(?:sweep|curve)-[A-Za-z0-9]+\/trace\.bin/g, 'the binary copy of the trace');
}
