import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { combineCrc64nvme, crc64nvme, EMPTY_CRC64NVME } from "../../functions/adapters/crc64nvme.js";

async function crcOf(bytes: Uint8Array): Promise<string> {
  const crc = crc64nvme();
  crc.update(bytes);
  return crc.value();
}

describe("combineCrc64nvme", () => {
  it("gives the published check value's parts back whole", async () => {
    const check = Buffer.from("123456789");
    // The catalogue's check value of CRC-64/NVME for "123456789".
    expect(Buffer.from(await crcOf(check), "base64").toString("hex")).toBe("ae8b14860a799888");
    const combined = combineCrc64nvme(await crcOf(check.subarray(0, 4)), await crcOf(check.subarray(4)), 5);
    expect(combined).toBe(await crcOf(check));
  });

  it("combines random splits of random bytes, empty pieces included, into the CRC of the whole", async () => {
    const whole = randomBytes(300_000);
    for (const cuts of [[0], [1], [65_536, 65_537], [100_000, 200_000, 299_999], [300_000], [7, 7, 8191]]) {
      const bounds = [0, ...cuts, whole.length];
      let running = EMPTY_CRC64NVME;
      for (let i = 0; i + 1 < bounds.length; i += 1) {
        const piece = whole.subarray(bounds[i], bounds[i + 1]);
        running = combineCrc64nvme(running, await crcOf(piece), piece.length);
      }
      expect(running).toBe(await crcOf(whole));
    }
  });

  it("refuses what is not a CRC64NVME value or a length", () => {
    expect(() => combineCrc64nvme("AAAA", EMPTY_CRC64NVME, 1)).toThrow(/not a CRC64NVME value/);
    expect(() => combineCrc64nvme(EMPTY_CRC64NVME, EMPTY_CRC64NVME, -1)).toThrow(/not a byte count/);
  });
});
