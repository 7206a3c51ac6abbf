// Keccak-256 (the pre-standard padding Ethereum uses, not SHA3-256), written out here so
// the verify page depends on no one else's code. Lanes are 64-bit, kept as two 32-bit
// halves (lo, hi) in one Uint32Array; the browser test checks it against the server's.
(function (global) {
  "use strict";
  const RC = [
    0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000,
    0x80008000, 0x80000000, 0x0000808b, 0x00000000, 0x80000001, 0x00000000,
    0x80008081, 0x80000000, 0x00008009, 0x80000000, 0x0000008a, 0x00000000,
    0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
    0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000,
    0x00008003, 0x80000000, 0x00008002, 0x80000000, 0x00000080, 0x80000000,
    0x0000800a, 0x00000000, 0x8000000a, 0x80000000, 0x80008081, 0x80000000,
    0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
  ];
  // Rotation of lane x + 5y (rho), in lane order.
  const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39,
               41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
  const RATE = 136; // bytes: 1600 - 2 * 256 bits

  function permute(s) {
    const c = new Uint32Array(10);
    const b = new Uint32Array(50);
    for (let round = 0; round < 24; round++) {
      for (let x = 0; x < 5; x++) { // theta
        c[2 * x] = s[2 * x] ^ s[2 * x + 10] ^ s[2 * x + 20] ^ s[2 * x + 30] ^ s[2 * x + 40];
        c[2 * x + 1] = s[2 * x + 1] ^ s[2 * x + 11] ^ s[2 * x + 21] ^ s[2 * x + 31] ^ s[2 * x + 41];
      }
      for (let x = 0; x < 5; x++) {
        const p = (x + 4) % 5, n = (x + 1) % 5;
        const lo = c[2 * p] ^ ((c[2 * n] << 1) | (c[2 * n + 1] >>> 31));
        const hi = c[2 * p + 1] ^ ((c[2 * n + 1] << 1) | (c[2 * n] >>> 31));
        for (let y = 0; y < 25; y += 5) {
          s[2 * (x + y)] ^= lo;
          s[2 * (x + y) + 1] ^= hi;
        }
      }
      for (let x = 0; x < 5; x++) { // rho and pi: B[y, 2x + 3y] = rot(A[x, y])
        for (let y = 0; y < 5; y++) {
          const from = x + 5 * y, to = y + 5 * ((2 * x + 3 * y) % 5);
          let lo = s[2 * from], hi = s[2 * from + 1];
          let r = ROT[from];
          if (r >= 32) { const t = lo; lo = hi; hi = t; r -= 32; }
          if (r > 0) {
            const l = (lo << r) | (hi >>> (32 - r));
            hi = (hi << r) | (lo >>> (32 - r));
            lo = l;
          }
          b[2 * to] = lo;
          b[2 * to + 1] = hi;
        }
      }
      for (let y = 0; y < 25; y += 5) { // chi
        for (let x = 0; x < 5; x++) {
          const i = x + y, i1 = (x + 1) % 5 + y, i2 = (x + 2) % 5 + y;
          s[2 * i] = b[2 * i] ^ (~b[2 * i1] & b[2 * i2]);
          s[2 * i + 1] = b[2 * i + 1] ^ (~b[2 * i1 + 1] & b[2 * i2 + 1]);
        }
      }
      s[0] ^= RC[2 * round]; // iota
      s[1] ^= RC[2 * round + 1];
    }
  }

  /** keccak-256 of a Uint8Array, as a Uint8Array of 32 bytes. */
  function keccak256(bytes) {
    const s = new Uint32Array(50);
    const padded = new Uint8Array(Math.floor(bytes.length / RATE + 1) * RATE);
    padded.set(bytes);
    padded[bytes.length] ^= 0x01;
    padded[padded.length - 1] ^= 0x80;
    for (let block = 0; block < padded.length; block += RATE) {
      for (let j = 0; j < RATE; j += 4) {
        const word = padded[block + j] | (padded[block + j + 1] << 8) |
          (padded[block + j + 2] << 16) | (padded[block + j + 3] << 24);
        s[j >> 2] ^= word;
      }
      permute(s);
    }
    const out = new Uint8Array(32);
    for (let j = 0; j < 32; j++) out[j] = (s[j >> 2] >>> (8 * (j & 3))) & 0xff;
    return out;
  }

  function toHex(bytes) {
    let hex = "0x";
    for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
    return hex;
  }

  function fromHex(hex) {
    const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
    if (clean.length % 2 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`not hex: ${hex}`);
    const out = new Uint8Array(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(2 * i, 2), 16);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  const utf8 = (text) => new TextEncoder().encode(text);
  global.FlexHash = { keccak256, toHex, fromHex, concat, utf8,
                      keccakHex: (text) => toHex(keccak256(utf8(text))) };
})(typeof window !== "undefined" ? window : globalThis);
