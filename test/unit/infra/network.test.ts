import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../../infra/config.js";
import { Ftp2s3Stack } from "../../../infra/stack.js";
import { logicalId, type Synthesized, sampleConfigJson, synth, synthError } from "./synth.js";

const SUBNETS = [
  { id: "subnet-0a1b2c3d4e5f60001", availabilityZone: "eu-west-1a", routeTableId: "rtb-0a1b2c3d4e5f60001" },
  { id: "subnet-0a1b2c3d4e5f60002", availabilityZone: "eu-west-1b", routeTableId: "rtb-0a1b2c3d4e5f60002" },
];

/** The function's resource in a template. */
function functionOf(template: Template) {
  return Object.values(template.findResources("AWS::Lambda::Function"))[0]?.Properties;
}

/** The Sids of the statements in the function role's own policy. */
function roleStatementSids(s: Synthesized): string[] {
  const policyId = logicalId(s.stack, s.stack.transfer.role.node.findChild("DefaultPolicy"));
  return s.template
    .toJSON()
    .Resources[policyId].Properties.PolicyDocument.Statement.map((st: { Sid: string }) => st.Sid);
}

describe("without a network option", () => {
  it("runs the function outside any VPC, as before, and outputs no address", () => {
    const s = synth();

    s.template.resourceCountIs("AWS::EC2::VPC", 0);
    s.template.resourceCountIs("AWS::EC2::SecurityGroup", 0);
    expect(functionOf(s.template).VpcConfig).toBeUndefined();
    expect(Object.keys(s.template.toJSON().Outputs)).not.toContain("EgressAddresses");
    expect(roleStatementSids(s)).not.toContain("ManageVpcInterfaces");
  });
});

describe("with a new VPC (defaults: 2 zones, 1 NAT gateway)", () => {
  let s: Synthesized;
  let template: Template;
  let resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;

  beforeAll(() => {
    s = synth((json) => {
      json.network = { newVpc: {} };
    });
    template = s.template;
    resources = template.toJSON().Resources;
  });
  const idsOf = (type: string, name?: string) =>
    Object.entries(resources)
      .filter(([id, r]) => r.Type === type && (name === undefined || id.includes(name)))
      .map(([id]) => id);

  it("makes one VPC over two zones: public subnets for the NAT, private ones for the function", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    expect(idsOf("AWS::EC2::Subnet", "Public")).toHaveLength(2);
    expect(idsOf("AWS::EC2::Subnet", "Private")).toHaveLength(2);
    // Only the NAT gateways, with their Elastic IPs, have public addresses.
    for (const id of idsOf("AWS::EC2::Subnet"))
      expect(resources[id]?.Properties.MapPublicIpOnLaunch).toBe(false);
  });

  it("sends the private subnets' traffic through one NAT gateway with the stack's Elastic IP", () => {
    const [eipId] = idsOf("AWS::EC2::EIP");
    const [natId] = idsOf("AWS::EC2::NatGateway");
    template.resourceCountIs("AWS::EC2::EIP", 1);
    template.resourceCountIs("AWS::EC2::NatGateway", 1);
    expect(resources[natId as string]?.Properties.AllocationId).toEqual({
      "Fn::GetAtt": [eipId, "AllocationId"],
    });
    const privateRoutes = idsOf("AWS::EC2::Route", "Private").map((id) => resources[id]?.Properties);
    expect(privateRoutes).toHaveLength(2);
    for (const route of privateRoutes) {
      expect(route).toMatchObject({ DestinationCidrBlock: "0.0.0.0/0", NatGatewayId: { Ref: natId } });
    }
  });

  it("places the function in the private subnets, behind a security group that only lets TCP out", () => {
    const privateSubnets = idsOf("AWS::EC2::Subnet", "Private").map((id) => ({ Ref: id }));
    const sgId = logicalId(s.stack, s.stack.network?.securityGroup);
    expect(functionOf(template).VpcConfig).toEqual({
      SubnetIds: privateSubnets,
      SecurityGroupIds: [{ "Fn::GetAtt": [sgId, "GroupId"] }],
    });
    expect(resources[sgId]?.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: "0.0.0.0/0", IpProtocol: "tcp", FromPort: 0, ToPort: 65535 }),
    ]);
    expect(resources[sgId]?.Properties.SecurityGroupIngress).toBeUndefined();
    template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
  });

  it("reaches S3 through a gateway endpoint on the private subnets' route tables", () => {
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      VpcEndpointType: "Gateway",
      ServiceName: { "Fn::Join": ["", ["com.amazonaws.", { Ref: "AWS::Region" }, ".s3"]] },
      RouteTableIds: idsOf("AWS::EC2::RouteTable", "Private").map((id) => ({ Ref: id })),
    });
    // Secrets Manager and SQS go through the NAT: no interface endpoint to pay by the hour.
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 1);
  });

  it("records the VPC's flows in a log group kept as long as the function's logs", () => {
    template.hasResourceProperties("AWS::EC2::FlowLog", { ResourceType: "VPC", TrafficType: "ALL" });
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 2);
  });

  it("lets Lambda manage the function's network interfaces before the function exists", () => {
    // Arrange: the role's own policy (the access policy is another one, unchanged by the VPC).
    const fnId = logicalId(s.stack, s.stack.transfer.function);
    const policyId = logicalId(s.stack, s.stack.transfer.role.node.findChild("DefaultPolicy"));
    const statements = resources[policyId]?.Properties.PolicyDocument as { Statement: { Sid: string }[] };

    // Assert
    expect(statements.Statement.map((st) => st.Sid)).toEqual(["WriteOwnLogs", "ManageVpcInterfaces"]);
    expect(statements.Statement[1]).toEqual({
      Sid: "ManageVpcInterfaces",
      Effect: "Allow",
      Action: [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ],
      Resource: "*",
    });
    const dependsOn = template.toJSON().Resources[fnId].DependsOn;
    expect(dependsOn).toContain(policyId);
    // And on the NAT routes, so the first invocation already has its egress.
    expect(dependsOn).toEqual(expect.arrayContaining(idsOf("AWS::EC2::Route", "PrivateSubnet")));
  });

  it("outputs the egress address and its allocation for the partner", () => {
    const [eipId] = idsOf("AWS::EC2::EIP");
    template.hasOutput("EgressAddresses", { Value: { "Fn::GetAtt": [eipId, "PublicIp"] } });
    template.hasOutput("EgressAllocationIds", { Value: { "Fn::GetAtt": [eipId, "AllocationId"] } });
  });
});

describe("with a new VPC of 3 zones and a NAT gateway in each", () => {
  it("needs the account and region at synth time, and then makes 3 gateways, 3 addresses, one route each", () => {
    // Arrange: the zones a `cdk synth` with credentials would have looked up, given as context.
    const json = sampleConfigJson();
    json.network = { newVpc: { availabilityZones: 3, natGateways: 3 } };
    const config = parseStackConfig(json, "test config");
    const app = new App({
      context: {
        "aws:cdk:bundling-stacks": [],
        "availability-zones:account=123456789012:region=eu-west-1": [
          "eu-west-1a",
          "eu-west-1b",
          "eu-west-1c",
        ],
      },
    });

    // Act
    const stack = new Ftp2s3Stack(app, "Test", {
      config,
      env: { account: "123456789012", region: "eu-west-1" },
    });
    const template = Template.fromStack(stack);

    // Assert
    template.resourceCountIs("AWS::EC2::NatGateway", 3);
    template.resourceCountIs("AWS::EC2::EIP", 3);
    const routes = Object.entries(template.findResources("AWS::EC2::Route"))
      .filter(([id]) => id.includes("Private"))
      .map(([, r]) => r.Properties.NatGatewayId.Ref);
    expect(new Set(routes).size).toBe(3);
    const eips = Object.keys(template.findResources("AWS::EC2::EIP"));
    template.hasOutput("EgressAddresses", {
      Value: { "Fn::Join": [",", eips.map((id) => ({ "Fn::GetAtt": [id, "PublicIp"] }))] },
    });
  });

  it("fails an environment-agnostic synth, which knows two zones, instead of quietly making two", () => {
    expect(synthError((json) => (json.network = { newVpc: { availabilityZones: 3 } }))).toMatch(
      /^network\.newVpc\.availabilityZones: 3 zones, but the stack knows 2/,
    );
  });
});

describe("with an existing VPC", () => {
  it("places the function in the given subnets, adds no VPC, NAT or endpoint, and outputs the given addresses", () => {
    const s = synth((json) => {
      json.network = {
        existingVpc: {
          vpcId: "vpc-0a1b2c3d4e5f60000",
          subnets: SUBNETS.map(({ id, availabilityZone }) => ({ id, availabilityZone })),
          egressAddresses: ["203.0.113.10", "203.0.113.11"],
          eipAllocationIds: ["eipalloc-0a1b2c3d4e5f60001"],
        },
      };
    });
    const sgId = logicalId(s.stack, s.stack.network?.securityGroup);

    expect(functionOf(s.template).VpcConfig).toEqual({
      SubnetIds: SUBNETS.map((subnet) => subnet.id),
      SecurityGroupIds: [{ "Fn::GetAtt": [sgId, "GroupId"] }],
    });
    s.template.hasResourceProperties("AWS::EC2::SecurityGroup", { VpcId: "vpc-0a1b2c3d4e5f60000" });
    for (const type of ["AWS::EC2::VPC", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint"]) {
      s.template.resourceCountIs(type, 0);
    }
    s.template.hasOutput("EgressAddresses", { Value: "203.0.113.10,203.0.113.11" });
    s.template.hasOutput("EgressAllocationIds", { Value: "eipalloc-0a1b2c3d4e5f60001" });
  });

  it("outputs no address when none is given: the stack cannot know the NAT's", () => {
    const s = synth((json) => {
      json.network = { existingVpc: { vpcId: "vpc-0a1b2c3d4e5f60000", subnets: SUBNETS } };
    });
    const outputs = Object.keys(s.template.toJSON().Outputs);
    expect(outputs).not.toContain("EgressAddresses");
    expect(outputs).not.toContain("EgressAllocationIds");
  });

  it("adds an S3 gateway endpoint to the subnets' route tables when asked", () => {
    const s = synth((json) => {
      json.network = {
        existingVpc: { vpcId: "vpc-0a1b2c3d4e5f60000", subnets: SUBNETS, addS3GatewayEndpoint: true },
      };
    });
    s.template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      VpcId: "vpc-0a1b2c3d4e5f60000",
      VpcEndpointType: "Gateway",
      RouteTableIds: SUBNETS.map((subnet) => subnet.routeTableId),
    });
  });
});

describe("a bad network option fails synthesis with a message naming the field", () => {
  it("both forms, or neither", () => {
    const existingVpc = { vpcId: "vpc-0a1b2c3d4e5f60000", subnets: SUBNETS };
    expect(synthError((json) => (json.network = { newVpc: {}, existingVpc }))).toContain(
      'network: give exactly one of "newVpc" and "existingVpc"',
    );
    expect(synthError((json) => (json.network = {}))).toContain(
      'network: give exactly one of "newVpc" and "existingVpc"',
    );
  });

  it("more NAT gateways than zones", () => {
    expect(
      synthError((json) => (json.network = { newVpc: { availabilityZones: 2, natGateways: 3 } })),
    ).toContain("network.newVpc.natGateways: at most one NAT gateway per availability zone");
  });

  it("an S3 endpoint without the route tables, a malformed id, an address that is not IPv4", () => {
    const subnets = [SUBNETS[0], { id: "subnet-0a1b2c3d4e5f60002", availabilityZone: "eu-west-1b" }];
    expect(
      synthError(
        (json) =>
          (json.network = {
            existingVpc: { vpcId: "vpc-0a1b2c3d4e5f60000", subnets, addS3GatewayEndpoint: true },
          }),
      ),
    ).toContain(
      "network.existingVpc.subnets.1.routeTableId: addS3GatewayEndpoint needs the route table of every subnet",
    );
    expect(
      synthError((json) => (json.network = { existingVpc: { vpcId: "vpc-1", subnets: SUBNETS } })),
    ).toContain("network.existingVpc.vpcId: must be an id like vpc-0123456789abcdef0");
    expect(
      synthError(
        (json) =>
          (json.network = {
            existingVpc: {
              vpcId: "vpc-0a1b2c3d4e5f60000",
              subnets: SUBNETS,
              egressAddresses: ["ftp.example.com"],
            },
          }),
      ),
    ).toContain("network.existingVpc.egressAddresses.0:");
  });
});
