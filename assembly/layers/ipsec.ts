// SCAFFOLD: replaced by the real decoder in this session.
export function decodeIPSecAH(s: usize, e: usize): i32 { return -1; }
export function decodeIPSecESP(s: usize, e: usize): i32 { return -1; }
