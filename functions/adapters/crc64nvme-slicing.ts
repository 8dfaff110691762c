/**
 * CRC64NVME of a byte run, computed here rather than by @aws-sdk/crc64-nvme: the SDK's native (CRT)
 * one is not in Lambda's bundle, and its pure-JS one reads a byte at a time. This one is slicing-by-8
 * over 32-bit words (two little-endian loads per 8 bytes instead of eight byte loads): about 0.8–1.2
 * CPU s/GiB here against the SDK's 2.5 (Node 20 and 22, 8 MiB parts, measured alternately).
 *
 * The 64-bit register is two 32-bit halves (JS bit operations are 32-bit). Reflected algorithm,
 * polynomial 0xAD93D23594C93659 bit-reversed below, register started at all ones, inverted at the end.
 *
 * Everything is inside one function that refers to nothing outside itself and names no function of its
 * own, so that its source text is a program on its own, minified or not: the core's worker thread runs
 * it for parts' CRCs (crc64nvme-worker.ts), in the bundles as in the sources, with no file to ship.
 */
export function makeCrc64nvmeOf(): (bytes: Uint8Array) => string {
  const REFLECTED_POLY = 0x9a6c9329ac4bc9b5n;
  const SLICES = 8;

  /** Table `s` gives the CRC of a byte followed by `s` zero bytes: entries s*256+b, low and high halves. */
  const [LOW, HIGH] = ((): [Int32Array, Int32Array] => {
    const low = new Int32Array(256 * SLICES);
    const high = new Int32Array(256 * SLICES);
    const single: bigint[] = [];
    for (let byte = 0; byte < 256; byte += 1) {
      let crc = BigInt(byte);
      for (let bit = 0; bit < 8; bit += 1) crc = crc & 1n ? (crc >> 1n) ^ REFLECTED_POLY : crc >> 1n;
      single.push(crc);
    }
    for (let byte = 0; byte < 256; byte += 1) {
      let crc = single[byte] as bigint;
      for (let slice = 0; slice < SLICES; slice += 1) {
        low[slice * 256 + byte] = Number(crc & 0xffffffffn) | 0;
        high[slice * 256 + byte] = Number(crc >> 32n) | 0;
        crc = (crc >> 8n) ^ (single[Number(crc & 0xffn)] as bigint);
      }
    }
    return [low, high];
  })();

  /** Word loads read the bytes in memory order: right only on a little-endian machine (x86, arm64). */
  const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

  // Anonymous: esbuild's keepNames (the Lambda bundle's) would wrap a named function in a call to a
  // helper of the bundle, which the worker's copy of this text does not have.
  return (bytes: Uint8Array): string => {
    let low = -1;
    let high = -1;
    let i = 0;
    const end = bytes.length;
    if (LITTLE_ENDIAN) {
      // Bytes one by one up to a 4-byte boundary: Int32Array views must be aligned.
      const headEnd = Math.min(end, (4 - (bytes.byteOffset & 3)) & 3);
      for (; i < headEnd; i += 1) {
        const index = (low ^ (bytes[i] as number)) & 255; // one byte through the register (table 0)
        low = ((low >>> 8) | (high << 24)) ^ (LOW[index] as number);
        high = (high >>> 8) ^ (HIGH[index] as number);
      }
      const pairs = (end - i) >>> 3;
      if (pairs > 0) {
        const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, pairs * 2);
        for (let w = 0; w < words.length; w += 2) {
          const a = (words[w] as number) ^ low;
          const b = (words[w + 1] as number) ^ high;
          const i0 = 7 * 256 + (a & 255);
          const i1 = 6 * 256 + ((a >>> 8) & 255);
          const i2 = 5 * 256 + ((a >>> 16) & 255);
          const i3 = 4 * 256 + (a >>> 24);
          const i4 = 3 * 256 + (b & 255);
          const i5 = 2 * 256 + ((b >>> 8) & 255);
          const i6 = 256 + ((b >>> 16) & 255);
          const i7 = b >>> 24;
          low = (LOW[i0] as number) ^ (LOW[i1] as number) ^ (LOW[i2] as number) ^ (LOW[i3] as number);
          low ^= (LOW[i4] as number) ^ (LOW[i5] as number) ^ (LOW[i6] as number) ^ (LOW[i7] as number);
          high = (HIGH[i0] as number) ^ (HIGH[i1] as number) ^ (HIGH[i2] as number) ^ (HIGH[i3] as number);
          high ^= (HIGH[i4] as number) ^ (HIGH[i5] as number) ^ (HIGH[i6] as number) ^ (HIGH[i7] as number);
        }
        i += pairs * 8;
      }
    }
    for (; i < end; i += 1) {
      const index = (low ^ (bytes[i] as number)) & 255;
      low = ((low >>> 8) | (high << 24)) ^ (LOW[index] as number);
      high = (high >>> 8) ^ (HIGH[index] as number);
    }
    const out = Buffer.allocUnsafe(8);
    out.writeInt32BE(~high, 0);
    out.writeInt32BE(~low, 4);
    return out.toString("base64");
  };
}

/** The CRC64NVME of the bytes, as S3 shows it (8 bytes big-endian, base64). */
export const crc64nvmeOf = makeCrc64nvmeOf();
