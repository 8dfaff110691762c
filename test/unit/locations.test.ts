import { describe, expect, it } from "vitest";
import {
  assertValidKey,
  formatFtpUrl,
  parseFtpUrl,
  parseS3Url,
  resolveKey,
} from "../../functions/core/locations.js";

describe("parseFtpUrl", () => {
  it("reads user, host, port and a percent-decoded absolute path", () => {
    expect(parseFtpUrl("ftp://alice@files.example.com:2121/in/M%C3%A4rz%20report.csv")).toEqual({
      host: "files.example.com",
      port: 2121,
      user: "alice",
      secure: false,
      path: "/in/März report.csv",
    });
  });

  it("defaults to anonymous on port 21, ftps:// to explicit TLS, and implicit TLS to port 990", () => {
    expect(parseFtpUrl("ftp://h/f")).toMatchObject({ user: undefined, port: 21, secure: false });
    expect(parseFtpUrl("ftps://h/f")).toMatchObject({ port: 21, secure: "explicit" });
    expect(parseFtpUrl("ftps://h/f", { implicitTls: true })).toMatchObject({ port: 990, secure: "implicit" });
  });

  it("unwraps an IPv6 literal", () => {
    expect(parseFtpUrl("ftp://[::1]:2121/f").host).toBe("::1");
  });

  it.each([
    ["not a url", /not a URL/],
    ["sftp://h/f", /unsupported scheme "sftp:"/],
    ["ftp://u:hunter2@h/f", /ftp:\/\/u:\*\*\*@h\/f carries a password; put it in FTP_PASSWORD/],
    ["ftp://h/f?x=1", /write them as %3F and %23/],
    ["ftp://h/a%0Ab", /contains CR, LF or NUL/],
    ["ftp://h/a%00b", /contains CR, LF or NUL/],
    ["ftp://h/%E0%A4%A", /malformed percent-encoding/],
    [`ftp://h/${"a".repeat(5000)}`, /more than 4096/],
  ])("refuses %s", (url, message) => {
    expect(() => parseFtpUrl(url)).toThrow(message);
  });

  it("refuses implicit TLS on a plain ftp:// URL", () => {
    expect(() => parseFtpUrl("ftp://h/f", { implicitTls: true })).toThrow(
      /implicit TLS needs an ftps:\/\/ URL/,
    );
  });

  it("never puts the password in its message", () => {
    expect(() => parseFtpUrl("ftp://u:hunter2@h/f")).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("hunter2") }),
    );
  });
});

describe("formatFtpUrl", () => {
  it("writes the source URL without a password and with the path encoded", () => {
    const location = { host: "h", port: 21, user: "bob smith", secure: false as const };
    expect(formatFtpUrl(location, "/a b/ü#1.bin")).toBe("ftp://bob%20smith@h/a%20b/%C3%BC%231.bin");
    expect(formatFtpUrl({ ...location, user: undefined, port: 2121, secure: "explicit" }, "/f")).toBe(
      "ftps://h:2121/f",
    );
    expect(formatFtpUrl({ host: "::1", port: 990, user: undefined, secure: "implicit" }, "/f")).toBe(
      "ftps://[::1]/f",
    );
  });

  it("round-trips through parseFtpUrl", () => {
    const location = { host: "h", port: 2121, user: "u", secure: false as const };
    const path = "/dir with space/100% ünïcødé #1.bin";
    expect(parseFtpUrl(formatFtpUrl(location, path))).toEqual({ ...location, path });
  });
});

describe("parseS3Url and resolveKey", () => {
  it("takes the key literally", () => {
    expect(parseS3Url("s3://my-bucket/a b/%20c")).toEqual({ bucket: "my-bucket", key: "a b/%20c" });
  });

  it("completes a prefix with the remote file name", () => {
    expect(resolveKey("landing/", "/in/data.csv")).toBe("landing/data.csv");
    expect(resolveKey("", "/in/data.csv")).toBe("data.csv");
    expect(resolveKey("exact.csv", "/in/data.csv")).toBe("exact.csv");
    expect(parseS3Url("s3://b-1").key).toBe("");
  });

  it.each(["http://b/k", "s3:/b/k", "s3://UPPER/k", "s3://a/k", "s3://a..b/k", "s3://-ab/k"])(
    "refuses %s",
    (url) => {
      expect(() => parseS3Url(url)).toThrow(/S3 URL|bucket name/);
    },
  );

  it.each([
    ["", /empty/],
    ["/abs", /starts with "\/"/],
    ["a/../b", /".." segment/],
    ["./a", /"." or ".." segment/],
    ["a\nb", /control characters/],
    ["in\\..\\..\\up", /contains "\\"/],
    ["é".repeat(513), /1026 bytes long, more than S3's 1024/],
  ])("refuses the key %j", (key, message) => {
    expect(() => assertValidKey(key)).toThrow(message);
  });

  it("accepts a key of exactly 1024 bytes", () => {
    expect(() => assertValidKey("k".repeat(1024))).not.toThrow();
  });
});
