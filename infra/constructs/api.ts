import { ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FunctionUrl, FunctionUrlAuthType, type IFunction, InvokeMode } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

export interface TransferApiProps {
  /** The function behind the URL. */
  readonly function: IFunction;
}

/**
 * The API: a Function URL that only signed (SigV4) requests reach. Callers need an IAM policy of
 * their own; the stack offers one, `callerPolicy`, to attach to the roles or users that may call.
 */
export class TransferApi extends Construct {
  readonly url: FunctionUrl;
  readonly callerPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: TransferApiProps) {
    super(scope, id);
    this.url = new FunctionUrl(this, "Url", {
      function: props.function,
      authType: FunctionUrlAuthType.AWS_IAM,
      // The response is a small JSON document; a 15-minute transfer answers when it is committed.
      invokeMode: InvokeMode.BUFFERED,
    });
    // Since October 2025 a new function URL needs both actions from its callers.
    this.callerPolicy = new ManagedPolicy(this, "CallerPolicy", {
      description: "Call the ftp2s3 API (its Function URL, with SigV4-signed requests)",
      statements: [
        new PolicyStatement({
          sid: "InvokeFtp2s3Url",
          actions: ["lambda:InvokeFunctionUrl"],
          resources: [props.function.functionArn],
          conditions: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
        }),
        new PolicyStatement({
          sid: "InvokeFtp2s3ViaUrl",
          actions: ["lambda:InvokeFunction"],
          resources: [props.function.functionArn],
          conditions: { Bool: { "lambda:InvokedViaFunctionUrl": "true" } },
        }),
      ],
    });
  }
}
