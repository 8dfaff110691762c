import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledge } from "./nag.js";

/** A connection as far as its password is concerned. */
export interface ConnectionPassword {
  /** The FTP server, for the secret's description. */
  readonly host: string;
  /** The login name; undefined for an anonymous connection (no secret). */
  readonly user?: string;
  /** An existing secret (complete ARN). Default: a secret created here. */
  readonly passwordSecretArn?: string;
}

export interface ConnectionSecretsProps {
  /** Connections by name. */
  readonly connections: Readonly<Record<string, ConnectionPassword>>;
}

/**
 * One Secrets Manager secret per connection that logs in with a password: created here (with a
 * random placeholder value the operator replaces with `aws secretsmanager put-secret-value`), or
 * imported by ARN. The password never passes through the stack, its config or its template.
 */
export class ConnectionSecrets extends Construct {
  /** The secret of each connection that has one, by connection name. */
  readonly byConnection: Readonly<Record<string, ISecret>>;
  /** The secrets this construct created (not the imported ones). */
  readonly created: readonly Secret[];

  constructor(scope: Construct, id: string, props: ConnectionSecretsProps) {
    super(scope, id);
    const byConnection: Record<string, ISecret> = {};
    const created: Secret[] = [];
    for (const [name, connection] of Object.entries(props.connections)) {
      if (connection.user === undefined) continue;
      if (connection.passwordSecretArn !== undefined) {
        byConnection[name] = Secret.fromSecretCompleteArn(
          this,
          `Imported-${name}`,
          connection.passwordSecretArn,
        );
        continue;
      }
      // Named after the connection, not its position: reordering the config keeps every secret.
      const secret = new Secret(this, `Password-${name}`, {
        description: `ftp2s3: FTP password of ${connection.user}@${connection.host} (connection "${name}"); set it with put-secret-value`,
      });
      acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "The secret holds a password that the FTP server's operator issues: rotating it needs a change on that server, which neither AWS nor ftp2s3 can make. It is replaced with put-secret-value when the partner changes it.",
      );
      byConnection[name] = secret;
      created.push(secret);
    }
    this.byConnection = byConnection;
    this.created = created;
  }
}
