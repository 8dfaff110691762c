import mime from "mime-types";
import { describe, expect, it } from "vitest";
import { MEDIA_TYPE_TABLE } from "../../functions/core/media-type-table.js";
import { mediaTypeOf } from "../../functions/core/media-types.js";

const REGENERATE = "the table is out of date: run `node scripts/media-type-table.mjs`";

describe("mediaTypeOf", () => {
  it("gives mime-types' type for every extension mime-types knows, and knows no other", () => {
    // Arrange
    const known = Object.entries(mime.types);
    const tableExtensions = MEDIA_TYPE_TABLE.split("\n").flatMap((line) => line.split(" ").slice(1));

    // Act
    const differing = known.filter(([extension, type]) => mediaTypeOf(`f.${extension}`) !== type);

    // Assert
    expect(differing, REGENERATE).toEqual([]);
    expect(tableExtensions.length, REGENERATE).toBe(known.length);
  });

  it("reads names as mime-types' lookup does", () => {
    for (const name of ["report.CSV", "a.tar.gz", ".csv", "x.", "noext", "f.unknownext", "f.__proto__"]) {
      expect(mediaTypeOf(name), name).toBe(mime.lookup(name) || undefined);
    }
  });
});
