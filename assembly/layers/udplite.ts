// SCAFFOLD: replaced by the real decoder in this session.
export function decodeUDPLite(s: usize, e: usize): i32 { return -1; }
