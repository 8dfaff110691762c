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
