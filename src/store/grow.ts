/**
 * Growing the store's typed-array columns: a new array of the same kind and the new length,
 * holding the old contents (the rest zero).
 */
type Column = Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Uint8Array<ArrayBuffer>;

export function grown<T extends Column>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a as never);
  return b;
}
