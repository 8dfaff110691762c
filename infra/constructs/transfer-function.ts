import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import type { ISecurityGroup, IVpc, SubnetSelection } from "aws-cdk-lib/aws-ec2";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { CONFIG_ENV, METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/contracts/index.js";
import { acknowledge } from "./nag.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Lambda's longest run; a transfer that needs more is split by the caller (or fanned out over SQS). */
export const FUNCTION_TIMEOUT = Duration.minutes(15);

/** Where the function's network interfaces go: a VPC's subnets, behind one security group. */
export interface FunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
}

export interface TransferFunctionProps {
  /** The FTP2S3_CONFIG document, as JSON (it may hold tokens: build it with `Stack.toJsonString`). */
  readonly config: string;
  /**
   * Memory in MiB. Default 1024: Lambda gives CPU in proportion to memory (a full vCPU at 1769 MiB),
   * and a transfer spends its CPU on TLS and SHA-256 while it waits on both networks; the benchmark
   * of the transfer pipeline refines this default.
   */
  readonly memoryMiB?: number;
  /** Reserved concurrency. Default: none (the account's unreserved pool). */
  readonly reservedConcurrency?: number;
  /** How long the logs are kept. Default: 30 days. */
  readonly logRetention?: RetentionDays;
  /** POWERTOOLS_LOG_LEVEL. Default "INFO". */
  readonly logLevel?: string;
  /** The handler's source file. Default: functions/handler.ts of this repository. */
  readonly entry?: string;
  /** Run in these subnets of a VPC (see EgressNetwork). Default: outside any VPC. */
  readonly network?: FunctionNetwork;
}

/**
 * The one Lambda function: fixed runtime (Node.js 22), arm64, the 15-minute timeout, source maps,
 * an explicit log group with retention, and its own role whose only built-in rights are writing to
 * that log group and, in a VPC, managing its network interfaces: every other permission is written
 * out by TransferAccessPolicy.
 */
export class TransferFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: TransferFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    // No AWSLambdaBasicExecutionRole: it allows logs:CreateLogGroup and writing to any log group.
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "ftp2s3 transfer function",
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "WriteOwnLogs",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.network !== undefined) {
      // What AWSLambdaVPCAccessExecutionRole grants, written out: Lambda creates and removes the
      // function's interfaces with the function's own role, and checks it can when the function is
      // created (the function depends on this policy).
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: "ManageVpcInterfaces",
          actions: [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
          ],
          resources: ["*"],
        }),
      );
      acknowledge(
        this.role,
        "AwsSolutions-IAM5[Resource::*]",
        "Lambda's VPC interfaces: ec2:DescribeNetworkInterfaces works only on all resources, and Lambda's guide warns that a DeleteNetworkInterface narrower than all interfaces can cut the function off from its VPC; these are the EC2 actions of AWS's own AWSLambdaVPCAccessExecutionRole, nothing more.",
      );
    }

    this.function = new NodejsFunction(this, "Function", {
      description: "ftp2s3: stream a file from an FTP server into S3",
      entry: props.entry ?? `${repoRoot}functions/handler.ts`,
      handler: "handler",
      projectRoot: repoRoot,
      depsLockFilePath: `${repoRoot}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: FUNCTION_TIMEOUT,
      memorySize: props.memoryMiB ?? 1024,
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.network === undefined
        ? {}
        : {
            vpc: props.network.vpc,
            vpcSubnets: props.network.subnets,
            securityGroups: [props.network.securityGroup],
          }),
      environment: {
        [CONFIG_ENV]: props.config,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? "INFO",
        // A small young generation: the 64 KiB socket reads a transfer drops are collected sooner,
        // 15-20 MB less peak memory in the benchmark at no cost in throughput. Naming it here also
        // stops the runtime's bootstrap passing its own heap flags: the old space is then V8's
        // default, half the memory, beside the part buffers' half (README "The runtime's memory flags").
        NODE_OPTIONS: "--enable-source-maps --max-semi-space-size=1",
      },
      bundling: {
        format: OutputFormat.ESM,
        target: "node22",
        platform: "node",
        mainFields: ["module", "main"],
        // CommonJS dependencies call require(); ESM output has none unless we define it.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        minify: true,
        // iconv-lite's code-page tables as they are, not \u-escaped: 1.89 -> 1.60 MB (Node reads UTF-8).
        // As an esbuild argument: this aws-cdk-lib declares the `charset` option but never passes it on.
        esbuildArgs: { "--charset": "utf8" },
        // Error classes name themselves by constructor.name: minified, the runtime's errorType, the
        // failure destination and the logs would read "PB" instead of "MirrorIncompleteError".
        keepNames: true,
        sourceMap: true,
        // Stack traces need file and line, not the sources: keeps the map (and the asset) small.
        sourcesContent: false,
        // Bundle the AWS SDK: a pinned, tested version instead of whatever the runtime carries.
        externalModules: [],
        forceDockerBundling: false,
      },
    });
    acknowledge(
      this.function,
      "AwsSolutions-L1",
      "Node.js 22 is a supported Lambda runtime (an LTS line) and the one the handler is built (esbuild target node22) and tested for; moving to a newer runtime is a deliberate change with its own test run, not a side effect of a cdk-nag release.",
    );
  }
}
