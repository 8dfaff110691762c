import { describe, expect, it } from "vitest";
import { synth, synthError } from "./synth.js";

describe("a connection's encoding in the stack config", () => {
  it("reaches the function's config as given", () => {
    // Arrange / Act
    const { template } = synth((json) => (json.connections["partner-ftp"].encoding = "shift_jis"));

    // Assert
    const [fn] = Object.values(template.findResources("AWS::Lambda::Function"));
    expect(JSON.stringify(fn?.Properties.Environment.Variables.FTP2S3_CONFIG)).toContain(
      '\\"encoding\\":\\"shift_jis\\"',
    );
  });

  it("fails synthesis when iconv-lite does not know it, or it does not write ASCII as ASCII", () => {
    expect(synthError((json) => (json.connections["partner-ftp"].encoding = "klingon"))).toContain(
      'connections.partner-ftp.encoding: unknown encoding "klingon"',
    );
    expect(synthError((json) => (json.connections["partner-ftp"].encoding = "utf16le"))).toContain(
      'connections.partner-ftp.encoding: "utf16le" does not write ASCII as ASCII',
    );
  });
});
