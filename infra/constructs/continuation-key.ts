import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledge } from "./nag.js";

/**
 * The key the function signs its continuations with (HMAC-SHA256): a secret the stack generates,
 * which only the function's role may read. A queued continuation without the function's signature
 * is refused, so nobody who can merely send to the queue can steer a copy's upload.
 */
export class ContinuationKey extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, "Secret", {
      description:
        "ftp2s3: signs the function's continuation messages (generated; only the function reads it)",
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    acknowledge(
      this.secret,
      "AwsSolutions-SMG4",
      "A generated signing key no person handles: rotating it would only make the continuations in flight fail their signature check (their uploads then expire by the bucket's lifecycle rule). Replace it by hand if it ever leaks.",
    );
  }
}
