// Host-shared regions: the host writes batches of frames into the input
// region and reads flow records from the output region. Static, so their
// addresses never change (the host still rebuilds views after memory.grow).
import { heapAlloc } from './alloc';

export const INPUT_CAPACITY: u32 = 4 << 20;
export const OUTPUT_CAPACITY: u32 = 4 << 20;
export const inputRegion = memory.data(<i32>INPUT_CAPACITY, 16);
export const outputRegion = memory.data(<i32>OUTPUT_CAPACITY, 16);

export function inputBuffer(): usize { return inputRegion; }
export function inputCapacity(): u32 { return INPUT_CAPACITY; }
export function outputBuffer(): usize { return outputRegion; }
export function outputCapacity(): u32 { return OUTPUT_CAPACITY; }

/**
 * Further room for input, from the heap, for a host that writes chunks while
 * the core works on others (src/pipeline/replay.ts); 0 when memory cannot grow.
 */
export function inputAlloc(bytes: u32): usize { return heapAlloc(<usize>bytes, 64); }
