// Allocation of the policy's large typed arrays, so that memory given back by a reload really leaves
// the process.
//
// Why: ArrayBuffers come from malloc. glibc serves a request from its brk heap unless the request is
// at least the mmap threshold, and that threshold is dynamic: every time a mmap'd block of up to
// 32 MiB is freed, the threshold rises to that block's size. After the first reload frees the old
// policy's arrays (a few MiB each for a 1M-entry list), the next policy's arrays land in the brk heap,
// interleaved with everything else, and when they are freed in turn the heap cannot shrink around
// them. Measured with `fraudwall serve` and a 1M-entry list: 93 MB RSS after the first load, 159 MB
// after six reloads (live data unchanged); with the threshold pinned (MALLOC_MMAP_THRESHOLD_=131072)
// 102 MB.
//
// So an array of BIG bytes or more is given an ArrayBuffer of at least 32 MiB (the ceiling of the
// dynamic threshold on 64-bit glibc): such a request is always mmap'd, comes back zero-filled without
// being touched, and is unmapped when the buffer is collected. The part past the array's length is
// never written, so it is address space, not RSS; callers use it as free growth room. The cost is
// that V8's `external`/`arrayBuffers` figures (and prom-client's nodejs_external_memory_bytes) count
// the whole 32 MiB of each region — ~96 MiB for a 1M-entry list and its matcher, whose data is
// ~23 MB: RSS is the true measure. Arrays below BIG stay ordinary: their brk-heap share is small.
const BIG = 256 * 1024;
const MMAP_FLOOR = 32 * 1024 * 1024;

/**
 * A zeroed ArrayBuffer of at least `bytes` bytes: exactly that below BIG, else at least 32 MiB.
 * Arrays that live and die together share one (see the callers), so a list costs few such regions.
 */
export function region(bytes: number): ArrayBuffer {
  return new ArrayBuffer(bytes >= BIG ? Math.max(bytes, MMAP_FLOOR) : bytes);
}

/** A zeroed Uint8Array of at least `length` elements (more when the padding gives room for free). */
export function u8WithRoom(length: number): Uint8Array {
  return new Uint8Array(region(length));
}

/** A zeroed Uint32Array of at least `length` elements (more when the padding gives room for free). */
export function u32WithRoom(length: number): Uint32Array {
  return new Uint32Array(region(length * 4));
}
