import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { landedAsPlanned, multipartEtag, type PlannedObject } from "../../functions/core/landed-object.js";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const partEtags = [md5("first part"), md5("second part")];
const objectEtag = multipartEtag(partEtags) as string;
const planned: PlannedObject = { size: 1000, crc64nvme: "AAAAAAAAAAE=", partEtags };

describe("landedAsPlanned", () => {
  it("takes an object of the planned size and CRC64NVME as the upload's", () => {
    const landing = landedAsPlanned(planned, {
      size: 1000,
      etag: "x",
      metadata: {},
      crc64nvme: "AAAAAAAAAAE=",
    });

    expect(landing).toEqual({ landed: true, proof: "1000 bytes, CRC64NVME AAAAAAAAAAE= as sent" });
  });

  it("refuses an object with another CRC64NVME, even with the ETag the parts make", () => {
    const found = { size: 1000, etag: objectEtag, metadata: {}, crc64nvme: "AAAAAAAAAAI=" };

    expect(landedAsPlanned(planned, found)).toEqual({
      landed: false,
      why: "the object's CRC64NVME is AAAAAAAAAAI=, not AAAAAAAAAAE=",
    });
  });

  it("refuses an object of another size, and no object at all", () => {
    const found = { size: 999, etag: objectEtag, metadata: {}, crc64nvme: "AAAAAAAAAAE=" };

    expect(landedAsPlanned(planned, found)).toEqual({
      landed: false,
      why: "the object at the key is 999 bytes, not 1000",
    });
    expect(landedAsPlanned(planned, null)).toEqual({ landed: false, why: "there is no object at the key" });
  });

  it("without a checksum on either side, takes the object whose ETag its parts make", () => {
    const found = { size: 1000, etag: objectEtag, metadata: {} };

    expect(landedAsPlanned(planned, found).landed).toBe(true);
    expect(
      landedAsPlanned({ ...planned, crc64nvme: null }, { ...found, crc64nvme: "AAAAAAAAAAE=" }).landed,
    ).toBe(true);
  });

  it("without a checksum, refuses another ETag, and has no proof without the parts", () => {
    const found = { size: 1000, etag: `${md5("other")}-2`, metadata: {} };

    expect(landedAsPlanned(planned, found)).toEqual({
      landed: false,
      why: `the object's ETag is ${md5("other")}-2, not ${objectEtag}`,
    });
    expect(landedAsPlanned({ ...planned, partEtags: null }, { ...found, etag: objectEtag })).toEqual({
      landed: false,
      why: "neither a CRC64NVME nor the parts' MD5s are at hand to compare",
    });
  });
});

describe("multipartEtag", () => {
  it("is the MD5 of the parts' binary MD5s and their number, as S3 makes it", () => {
    const binary = Buffer.concat(partEtags.map((etag) => Buffer.from(etag, "hex")));

    expect(multipartEtag(partEtags)).toBe(`${createHash("md5").update(binary).digest("hex")}-2`);
  });

  it("is null when a part's ETag is not an MD5", () => {
    expect(multipartEtag([md5("a"), "not-an-md5"])).toBeNull();
    expect(multipartEtag([])).toBeNull();
  });
});
