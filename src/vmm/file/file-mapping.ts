/** One mapping of a file: [start, end) of an address space maps the file from page offset pgoff. */
export interface FileMapping {
  /** The address space's VMM (a VirtualMemory; opaque here). */
  readonly vm: object;
  readonly start: number;
  readonly end: number;
  /** File page offset mapped at `start`. */
  readonly pgoff: number;
  /** MAP_SHARED (else MAP_PRIVATE). */
  readonly shared: boolean;
}
