import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import type { FullObjectChecksum } from "../core/index.js";

/** The running state of the SDK's pure-JS CRC64NVME: the 64-bit register as two 32-bit halves. */
interface Register {
  c1: number;
  c2: number;
}

/**
 * A CRC64NVME whose state crosses legs. The value of the bytes so far is the register inverted
 * (the CRC's final XOR), so the value is the state: saving needs nothing but `value()`, and going on
 * from a saved value sets the register back. The SDK has no call for that; its pure-JS class keeps
 * the register in two fields, checked here (and pinned by a unit test) rather than trusted.
 */
export function crc64nvme(saved?: string): FullObjectChecksum {
  const crc = new Crc64Nvme();
  if (saved !== undefined) restore(crc, Buffer.from(saved, "base64"));
  return {
    update: (bytes) => crc.update(bytes),
    value: async () => Buffer.from(await crc.digest()).toString("base64"),
  };
}

function restore(crc: Crc64Nvme, value: Buffer): void {
  const register = (crc as unknown as { impl?: Partial<Register> }).impl;
  if (value.length !== 8 || typeof register?.c1 !== "number" || typeof register.c2 !== "number") {
    throw new Error("cannot go on with a saved CRC64NVME: this SDK's CRC64NVME keeps its state elsewhere");
  }
  register.c1 = (value.readUInt32BE(0) ^ 0xffffffff) | 0;
  register.c2 = (value.readUInt32BE(4) ^ 0xffffffff) | 0;
}

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
