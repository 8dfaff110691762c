import { describe, expect, it } from "vitest";
import { downloadBehindIdleMiddlebox, middleboxUnavailable } from "../support/idle-middlebox.js";

// A download whose control connection stays silent twice as long as a middlebox keeps idle flows:
// the middlebox is netfilter's connection tracking in a network namespace (see idle-middlebox.ts),
// scaled down from a NAT gateway's 350 s to 3 s, and the keepalive from 60 s to 1 s.

const unavailable = middleboxUnavailable();
const middlebox = { idleTimeoutSeconds: 3, silenceMs: 6000, timeoutMs: 4000 };

describe.skipIf(unavailable !== undefined)(
  `a middlebox that drops flows idle for 3 s${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`,
  () => {
    it("keeps the control connection, so the 226 after 6 silent seconds arrives", async () => {
      const outcome = await downloadBehindIdleMiddlebox({ ...middlebox, keepAliveMs: 1000 });

      expect(outcome).toEqual({
        reply: { code: 226, message: "Transfer complete" },
        intact: true,
        dropped: 0,
      });
    });

    it("loses the control connection without keepalive: the 226 is dropped and the copy ends in TIMEOUT", async () => {
      const outcome = await downloadBehindIdleMiddlebox({ ...middlebox, keepAliveMs: 0 });

      // Our reply watchdog or basic-ftp's control-socket timer, whichever checks first, says it.
      expect(outcome.error).toEqual({
        code: "TIMEOUT",
        message: expect.stringMatching(/no complete reply to RETR within 4 s$|did not answer for 4 s/),
      });
      expect(outcome.dropped).toBeGreaterThan(0);
    });
  },
);
