// SCAFFOLD: replaced by the real decoder in this session.
export function decodeSCTP(s: usize, e: usize): i32 { return -1; }
export function decodeSCTPChunk(s: usize, e: usize): i32 { return -1; }
