/**
 * The one hash of the tracking tables: n uint32 words -> a 32-bit hash, seeded per process.
 * Per word one multiply and one rotate, then murmur3's finaliser for the avalanche (the index
 * uses the low bits). The hash is returned as an int32, and stored in Int32Arrays, because V8
 * passes an int32 between functions as is but boxes a uint32 above 2^31 (half of all hashes) in
 * a heap number at every call. Seeded from Math.random (OS entropy at start-up, never shown), so a
 * spoofed flood cannot aim at a bucket; nothing observable depends on the seed.
 * Cheaper than murmur3's full per-word mixing; on the bench flood the tables' cost is the memory
 * miss of a random index probe (~150-300 ns here), not the hash.
 */
export const HASH_SEED = (Math.random() * 0x100000000) >>> 0;

export function hashWords(words: Uint32Array, base: number, n: number): number {
  let h = HASH_SEED;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ words[base + i], 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
  }
  return finalMix(h);
}

/** murmur3's finaliser: every input bit reaches every output bit. */
function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * hashWords of the four words (a, b, c, d), from values rather than an array: the IPv4 attempt
 * key's hash, computed in the tracker's batch loop without filling a key (test/track/ipv4-paths.test.ts
 * checks that the two agree).
 */
export function hash4(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(HASH_SEED ^ a, 0x85ebca6b);
  h = (h << 13) | (h >>> 19);
  h = Math.imul(h ^ b, 0x85ebca6b);
  h = (h << 13) | (h >>> 19);
  h = Math.imul(h ^ c, 0x85ebca6b);
  h = (h << 13) | (h >>> 19);
  h = Math.imul(h ^ d, 0x85ebca6b);
  h = (h << 13) | (h >>> 19);
  return finalMix(h);
}
