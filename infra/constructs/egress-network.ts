import { Annotations, Stack } from "aws-cdk-lib";
import {
  CfnEIP,
  FlowLogDestination,
  FlowLogTrafficType,
  type GatewayVpcEndpoint,
  GatewayVpcEndpointAwsService,
  type IVpc,
  NatProvider,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { StackConfigError } from "../config.js";
import type { ExistingVpcConfig, NetworkConfig, NewVpcConfig } from "../network-config.js";
import type { FunctionNetwork } from "./transfer-function.js";

export interface EgressNetworkProps {
  /** The stack config's `network`: a new VPC or an existing one. */
  readonly network: NetworkConfig;
  /** How long a new VPC's flow logs are kept. */
  readonly flowLogRetention: RetentionDays;
}

/** The function's subnets, in a new VPC as in an imported one. */
const FUNCTION_SUBNETS: SubnetSelection = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };

/**
 * Where the function runs so that its FTP connections leave from fixed addresses: private subnets
 * whose internet route goes through NAT gateways with Elastic IPs, S3 reached through a gateway
 * endpoint (free, and the bulk of the bytes: through the NAT each GB would pay its processing), and
 * one security group that opens no port.
 *
 * Secrets Manager and SQS are reached through the NAT, not interface endpoints: the function makes a
 * few small calls to them per transfer, while an interface endpoint costs an hourly price per zone
 * and per service, and buys no availability since a transfer needs the NAT for FTP anyway.
 */
export class EgressNetwork extends Construct {
  readonly vpc: IVpc;
  /** The function's subnets and security group. */
  readonly placement: FunctionNetwork;
  readonly securityGroup: SecurityGroup;
  /** The S3 gateway endpoint the stack added, if it added one. */
  readonly s3Endpoint?: GatewayVpcEndpoint;
  /** The public addresses the function's connections come from, as far as the stack knows them. */
  readonly egressAddresses: string[];
  /** The Elastic IP allocations behind those addresses, as far as the stack knows them. */
  readonly eipAllocationIds: string[];

  constructor(scope: Construct, id: string, props: EgressNetworkProps) {
    super(scope, id);
    const { network } = props;
    if (network.newVpc !== undefined) {
      const eips = this.elasticIps(network.newVpc);
      this.vpc = this.newVpc(network.newVpc, eips, props.flowLogRetention);
      this.egressAddresses = eips.map((eip) => eip.attrPublicIp);
      this.eipAllocationIds = eips.map((eip) => eip.attrAllocationId);
    } else {
      this.vpc = this.existingVpc(network.existingVpc);
      this.egressAddresses = network.existingVpc.egressAddresses ?? [];
      this.eipAllocationIds = network.existingVpc.eipAllocationIds ?? [];
    }
    if (network.newVpc !== undefined || network.existingVpc.addS3GatewayEndpoint) {
      this.s3Endpoint = this.vpc.addGatewayEndpoint("S3", {
        service: GatewayVpcEndpointAwsService.S3,
        subnets: [FUNCTION_SUBNETS],
      });
    }

    // The function only opens connections: FTP's control port, the passive data ports the server
    // chooses (any TCP port), and HTTPS to AWS. DNS to the VPC's resolver is not subject to security
    // groups, so nothing but TCP goes out, and nothing comes in.
    this.securityGroup = new SecurityGroup(this, "FunctionSecurityGroup", {
      vpc: this.vpc,
      description: "ftp2s3 transfer function: outbound TCP only (FTP control and passive data, HTTPS)",
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      Peer.anyIpv4(),
      Port.allTcp(),
      "FTP control and passive data ports, HTTPS",
    );
    this.placement = { vpc: this.vpc, subnets: FUNCTION_SUBNETS, securityGroup: this.securityGroup };
  }

  /** One Elastic IP per NAT gateway, made here rather than by the VPC so the stack can output them. */
  private elasticIps(config: NewVpcConfig): CfnEIP[] {
    return Array.from(
      { length: config.natGateways },
      (_, i) =>
        new CfnEIP(this, `NatAddress${i + 1}`, {
          domain: "vpc",
          tags: [{ key: "Name", value: `ftp2s3 egress ${i + 1}` }],
        }),
    );
  }

  private newVpc(config: NewVpcConfig, eips: CfnEIP[], flowLogRetention: RetentionDays): Vpc {
    // An environment-agnostic stack knows two zones (Fn::GetAZs picks them at deploy time); more
    // need the account and region at synth time. Vpc would quietly take fewer: say so instead.
    const known = Stack.of(this).availabilityZones.length;
    if (config.availabilityZones > known) {
      throw new StackConfigError(
        `network.newVpc.availabilityZones: ${config.availabilityZones} zones, but the stack knows ${known}: synthesize with the account and region (CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION) or ask for ${known}`,
      );
    }
    const vpc = new Vpc(this, "Vpc", {
      maxAzs: config.availabilityZones,
      natGateways: config.natGateways,
      natGatewayProvider: NatProvider.gateway({ eipAllocationIds: eips.map((eip) => eip.attrAllocationId) }),
      subnetConfiguration: [
        // Only the NAT gateways live here, with their own addresses: nothing gets a public IP by default.
        { name: "Public", subnetType: SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: "Private", subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      ],
      // Nothing is placed in the default group; restricting it would take a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
    });
    // Who connected where, and what was refused: the record to show a partner whose firewall
    // dropped a passive data connection.
    vpc.addFlowLog("FlowLog", {
      destination: FlowLogDestination.toCloudWatchLogs(
        new LogGroup(this, "FlowLogs", { retention: flowLogRetention }),
      ),
      trafficType: FlowLogTrafficType.ALL,
    });
    return vpc;
  }

  private existingVpc(config: ExistingVpcConfig): IVpc {
    const routeTableIds = config.subnets.flatMap((subnet) => subnet.routeTableId ?? []);
    // Attributes only, no lookup: synthesis needs no AWS account. The zones are listed one per
    // subnet, in the same order, so the subnets form one group with each in its own zone.
    const vpc = Vpc.fromVpcAttributes(this, "Vpc", {
      vpcId: config.vpcId,
      availabilityZones: config.subnets.map((subnet) => subnet.availabilityZone),
      privateSubnetIds: config.subnets.map((subnet) => subnet.id),
      ...(routeTableIds.length === config.subnets.length
        ? { privateSubnetRouteTableIds: routeTableIds }
        : {}),
    });
    Annotations.of(vpc).acknowledgeWarning(
      "@aws-cdk/aws-ec2:noSubnetRouteTableId",
      "The function needs only the subnet ids; the route tables serve the S3 endpoint, which requires them.",
    );
    return vpc;
  }
}
