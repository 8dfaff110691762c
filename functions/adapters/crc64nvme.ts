import { type FullObjectChecksum, isShared } from "../core/index.js";
import { crc64nvmeOf } from "./crc64nvme-slicing.js";
import { crc64nvmeOffThread } from "./crc64nvme-worker.js";

/**
 * A CRC64NVME whose state crosses legs, computed once per byte: each `update` (a part) gets its own
 * CRC, which UploadPart sends as the part's checksum (the SDK then computes none), and the value of
 * the bytes so far is the parts' CRCs combined, in the order of the updates. The value is the state:
 * saving needs nothing but `value()`, and going on from a saved value combines onto it. Bytes in
 * shared memory of at least OFF_THREAD_BYTES (part buffers) are CRC'd by the worker.
 */
export function crc64nvme(saved?: string): FullObjectChecksum {
  if (saved !== undefined) toBigInt(saved); // a damaged value fails here, not at the next part
  let value = Promise.resolve(saved ?? EMPTY_CRC64NVME);
  let last: Promise<unknown> = value;
  return {
    update: (bytes) => {
      const compute = () =>
        isShared(bytes) && bytes.length >= OFF_THREAD_BYTES ? crc64nvmeOffThread(bytes) : crc64nvmeOf(bytes);
      // Each after the one before: parts then go out in their order (a small last part computed
      // here would otherwise overtake the one before it in the worker).
      const own = last.then(compute, compute);
      last = own;
      value = Promise.all([value, own]).then(([before, part]) =>
        combineCrc64nvme(before, part, bytes.length),
      );
      value.catch(() => {}); // a failed part's CRC fails its upload, which is what reports it
      return own;
    },
    value: () => value,
  };
}

/** Below this, a message to the worker and back costs about what the CRC does. */
const OFF_THREAD_BYTES = 1024 * 1024;

/**
 * CRC64NVME as S3 uses it: reflected, polynomial 0xAD93D23594C93659 (bit-reversed below), register
 * started at all ones and inverted at the end.
 */
const REFLECTED_POLY = 0x9a6c9329ac4bc9b5n;
const TOP_BIT = 1n << 63n;

/** a(x)·b(x) mod P, both in the reflected order (x^0 is the top bit). */
function multiplyModP(a: bigint, b: bigint): bigint {
  let product = 0n;
  let factor = b;
  for (let bit = TOP_BIT; bit !== 0n; bit >>= 1n) {
    if ((a & bit) !== 0n) {
      product ^= factor;
      if ((a & (bit - 1n)) === 0n) break;
    }
    factor = (factor & 1n) !== 0n ? (factor >> 1n) ^ REFLECTED_POLY : factor >> 1n;
  }
  return product;
}

let xToTwoToThe: bigint[] | undefined;

/**
 * x^(2^k) mod P for k = 0..63: squaring the one before. Built on first use, not at load: 4,000
 * BigInt products cost every start of the command 14 M instructions, and most never combine.
 */
function powersOfX(): bigint[] {
  if (xToTwoToThe === undefined) {
    xToTwoToThe = [1n << 62n]; // x^1
    for (let k = 1; k < 64; k += 1) {
      const previous = xToTwoToThe[k - 1] as bigint;
      xToTwoToThe.push(multiplyModP(previous, previous));
    }
  }
  return xToTwoToThe;
}

/** x^(8·bytes) mod P: the shift that appending `bytes` bytes applies to the CRC before them. */
function shiftOf(bytes: number): bigint {
  const xToTwoToThe = powersOfX();
  let power = TOP_BIT; // x^0
  let k = 3; // 8 = 2^3 bits a byte
  for (let n = BigInt(bytes); n > 0n; n >>= 1n, k += 1) {
    if ((n & 1n) !== 0n) power = multiplyModP(xToTwoToThe[k] as bigint, power);
  }
  return power;
}

/** Parts mostly have one size, so their shift is computed once. */
const shifts = new Map<number, bigint>();

function cachedShiftOf(bytes: number): bigint {
  let shift = shifts.get(bytes);
  if (shift === undefined) {
    shift = shiftOf(bytes);
    if (shifts.size < 64) shifts.set(bytes, shift);
  }
  return shift;
}

function toBigInt(value: string): bigint {
  const bytes = Buffer.from(value, "base64");
  if (bytes.length !== 8) throw new Error(`not a CRC64NVME value: ${JSON.stringify(value)}`);
  return bytes.readBigUInt64BE(0);
}

/**
 * The CRC64NVME of A followed by B, from A's and B's values (base64, as S3 shows them) and B's
 * length: zlib's crc32_combine for this polynomial. The initial and final inversions cancel out,
 * so values are combined as they are. This is what lets parts read apart (ranges, or parts hashed
 * one by one) give the full object's checksum without reading its bytes again.
 */
export function combineCrc64nvme(first: string, second: string, secondLength: number): string {
  if (!Number.isSafeInteger(secondLength) || secondLength < 0) {
    throw new Error(`not a byte count: ${secondLength}`);
  }
  const combined = multiplyModP(cachedShiftOf(secondLength), toBigInt(first)) ^ toBigInt(second);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(combined, 0);
  return out.toString("base64");
}

/** The CRC64NVME of no bytes: the value combining starts from. */
export const EMPTY_CRC64NVME = "AAAAAAAAAAA=";
