/** Recording a program whole (vmsim record): valgrind's log of its accesses, threads, calls and children into a version-2 trace. */
export { recordProgram } from './recorder.js';
export type { RecordProgramOptions, RecordProgramResult, RecordNotes } from './recorder.js';
