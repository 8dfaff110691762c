import { randomBytes } from "node:crypto";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import { describe, expect, it } from "vitest";
import { crc64nvmeOf } from "../../functions/adapters/crc64nvme-slicing.js";

async function sdkCrc(bytes: Uint8Array): Promise<string> {
  const crc = new Crc64Nvme();
  crc.update(bytes);
  return Buffer.from(await crc.digest()).toString("base64");
}

describe("crc64nvmeOf (slicing-by-8)", () => {
  it("gives the catalogue's check value of CRC-64/NVME", () => {
    expect(Buffer.from(crc64nvmeOf(Buffer.from("123456789")), "base64").toString("hex")).toBe(
      "ae8b14860a799888",
    );
  });

  it("agrees with the SDK's CRC64NVME at every alignment and every tail length", async () => {
    // Arrange: views that start off a 4-byte boundary and end mid-word, as parts of a Buffer pool can.
    const bytes = randomBytes(70_000);
    for (let offset = 0; offset < 9; offset += 1) {
      for (const length of [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 1000, 65_537]) {
        const view = bytes.subarray(offset, offset + length);
        // Act / Assert
        expect(crc64nvmeOf(view), `offset ${offset}, length ${length}`).toBe(await sdkCrc(view));
      }
    }
  });
});
