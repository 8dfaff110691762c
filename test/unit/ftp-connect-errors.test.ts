import { Client, FTPError, type FTPResponse } from "basic-ftp";
import { describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";

/** A client whose login fails with this error, as basic-ftp hands it on. */
function failingLogin(error: Error) {
  return (timeoutMs: number) => {
    const client = new Client(timeoutMs);
    client.access = async () => {
      throw error;
    };
    return client;
  };
}

const options = {
  host: "ftp.example.com",
  port: 21,
  user: "alice",
  password: "pw",
  timeoutMs: 1000,
} as const;

describe("a login that fails at the TLS layer", () => {
  it("names TLS and the host when the error came without a message (basic-ftp leaves ' (control socket)')", async () => {
    // Arrange: what an OpenSSL failure without a reason becomes in basic-ftp's error handler.
    const error = Object.assign(new Error(" (control socket)"), { code: "ECONNRESET" });

    // Act
    const connecting = connectFtpSource({ ...options, secure: "explicit" }, failingLogin(error));

    // Assert
    await expect(connecting).rejects.toMatchObject({
      code: "FTP_CONNECTION",
      message:
        "cannot connect to ftps://alice@ftp.example.com: the TLS session with ftp.example.com failed during login and gave no reason (ECONNRESET)",
    });
  });

  it("keeps a message that says something as it is", async () => {
    const error = Object.assign(new Error("self-signed certificate"), {
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    });

    const connecting = connectFtpSource({ ...options, secure: "implicit", port: 990 }, failingLogin(error));

    await expect(connecting).rejects.toMatchObject({
      message:
        "cannot connect to ftps://alice@ftp.example.com: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate",
    });
  });
});

describe("a server at its session limit (FTP_BUSY)", () => {
  it.each([
    [new FTPError({ code: 421, message: "421 Too many users" } as FTPResponse), "421 Too many users"],
    [Object.assign(new Error("read ECONNRESET (control socket)"), { code: "ECONNRESET" }), "reset"],
    [new Error("Server sent FIN packet unexpectedly, closing connection."), "closed the connection"],
  ])("reads %s as back-pressure, not a failed login", async (error, said) => {
    const connecting = connectFtpSource({ ...options, secure: false }, failingLogin(error));

    await expect(connecting).rejects.toMatchObject({ code: "FTP_BUSY" });
    await expect(connecting).rejects.toThrow(said);
  });

  it("keeps a refused connection (nothing listens) a connection failure", async () => {
    const error = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:21"), { code: "ECONNREFUSED" });

    const connecting = connectFtpSource({ ...options, secure: false }, failingLogin(error));

    await expect(connecting).rejects.toMatchObject({ code: "FTP_CONNECTION" });
  });
});
