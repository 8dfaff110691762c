import { describe, expect, it } from "vitest";
import {
  SCRUBBED,
  scrubbingLog,
  secretForms,
  secretScrubber,
} from "../../functions/adapters/secret-scrub.js";
import { FtpReplyError } from "../../functions/core/errors.js";

const password = "Gate s3cret/pw%";

describe("secretScrubber: the password never leaves in a server's text", () => {
  it.each([
    ["as typed", password],
    ["percent-encoded", "Gate%20s3cret%2Fpw%25"],
    ["percent-encoded, lower-case hex", "Gate%20s3cret%2fpw%25"],
    ["form-encoded", "Gate+s3cret%2Fpw%25"],
    ["base64", Buffer.from(password).toString("base64")],
  ])("replaces it %s", (_form, echoed) => {
    const scrub = secretScrubber(password);

    const text = scrub.text(`530 Login incorrect for u with password ${echoed}.`);

    expect(text).toBe(`530 Login incorrect for u with password ${SCRUBBED}.`);
  });

  it("scrubs an error's message, its FTP reply text, its stack and its causes", () => {
    const scrub = secretScrubber(password);
    const cause = new Error(`530 password ${password}`);
    const error = new FtpReplyError(`login refused: 530 password ${password}`, 530, `password ${password}`, {
      cause,
    });

    scrub.error(error);

    expect(
      JSON.stringify([error.message, error.ftpMessage, error.stack, cause.message, cause.stack]),
    ).not.toContain("s3cret");
    expect(error.ftpMessage).toBe(`password ${SCRUBBED}`);
  });

  it("leaves text alone without a password", () => {
    expect(secretScrubber(undefined).text("530 nope")).toBe("530 nope");
    expect(secretScrubber("").text("530 nope")).toBe("530 nope");
  });

  it("scrubs a short password only where it stands alone, not inside words or numbers", () => {
    const scrub = secretScrubber("ab");

    expect(scrub.text("530 bad password ab for tab, (ab) 221")).toBe(
      `530 bad password ${SCRUBBED} for tab, (${SCRUBBED}) 221`,
    );
    expect(secretScrubber("21").text("221 Bye; password 21")).toBe(`221 Bye; password ${SCRUBBED}`);
  });

  it("lists each form once, longest first", () => {
    const forms = secretForms("abcd");
    expect(new Set(forms).size).toBe(forms.length);
    expect(forms).toContain("abcd");
    expect(forms).toContain("YWJjZA");
  });
});

describe("scrubbingLog: the verbose trace", () => {
  it("scrubs a password split across two received chunks", () => {
    const lines: string[] = [];
    const log = scrubbingLog((line) => lines.push(line), secretScrubber(password));

    log("> PASS ###");
    log("< 530 Login incorrect: Gate s3c");
    log("< ret/pw% is wrong\r\n");
    log("> QUIT");

    expect(lines.join("\n")).not.toContain("s3c");
    expect(lines).toEqual(["> PASS ###", `< 530 Login incorrect: ${SCRUBBED} is wrong\r\n`, "> QUIT"]);
  });
});
