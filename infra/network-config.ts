import { z } from "zod";

/**
 * The stack config's `network` field: run the function in a VPC whose outbound traffic leaves
 * through NAT gateways, so that FTP servers see it come from a few fixed addresses they can allow.
 * Without the field the function runs outside any VPC, as before, from Lambda's shared addresses.
 */

const awsId = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `must be an id like ${prefix}-0123456789abcdef0`);

const newVpcSchema = z
  .object({
    /**
     * Availability zones, each with a public subnet (for NAT gateways) and a private one (for the
     * function). Default 2: Lambda keeps running when one zone fails.
     */
    availabilityZones: z.number().int().min(1).max(6).default(2),
    /**
     * NAT gateways, each with its own Elastic IP address; at most one per zone. Default 1: one
     * gateway's hourly price, one address for the partner to allow, but the function loses the
     * internet when that gateway's zone fails. One per zone survives that, at that many prices.
     */
    natGateways: z.number().int().min(1).default(1),
  })
  .strict()
  .refine((v) => v.natGateways <= v.availabilityZones, {
    message: "at most one NAT gateway per availability zone: raise availabilityZones or lower natGateways",
    path: ["natGateways"],
  });

const existingSubnetSchema = z
  .object({
    /** The subnet's id. Its route to the internet must go through the NAT whose address the partner allows. */
    id: awsId("subnet"),
    /** Its availability zone, e.g. "eu-west-1a" (`aws ec2 describe-subnets` prints both). */
    availabilityZone: z
      .string()
      .regex(/^[a-z]{2}(-[a-z0-9]+)+[a-z]$/, 'must be a zone name like "eu-west-1a"'),
    /** Its route table; needed only with `addS3GatewayEndpoint`. */
    routeTableId: awsId("rtb").optional(),
  })
  .strict();

const existingVpcSchema = z
  .object({
    /** The VPC's id. */
    vpcId: awsId("vpc"),
    /** The private subnets the function runs in (two zones or more, for Lambda's availability). */
    subnets: z
      .array(existingSubnetSchema)
      .min(1)
      .refine((s) => new Set(s.map((subnet) => subnet.id)).size === s.length, "a subnet is listed twice"),
    /**
     * Add an S3 gateway endpoint on the subnets' route tables (each subnet then needs its
     * `routeTableId`). Default false: the VPC has its own, or S3 traffic goes through the NAT and
     * pays its per-GB processing. A route table that already has an S3 endpoint refuses a second.
     */
    addS3GatewayEndpoint: z.boolean().default(false),
    /**
     * The public addresses this VPC's NAT sends from: the stack cannot see them, so it outputs what
     * is given here for the partner. Default: none output.
     */
    egressAddresses: z.array(z.ipv4()).min(1).optional(),
    /** The NAT's Elastic IP allocations, output as given (`aws ec2 describe-addresses` shows their addresses). */
    eipAllocationIds: z.array(awsId("eipalloc")).min(1).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.addS3GatewayEndpoint) return;
    v.subnets.forEach((subnet, i) => {
      if (subnet.routeTableId === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["subnets", i, "routeTableId"],
          message: "addS3GatewayEndpoint needs the route table of every subnet",
        });
      }
    });
  });

export const networkSchema = z
  .object({
    /** A VPC made by the stack: its NAT gateways' Elastic IPs are created here and output. */
    newVpc: newVpcSchema.optional(),
    /** An existing VPC whose private subnets already reach the internet through a NAT. */
    existingVpc: existingVpcSchema.optional(),
  })
  .strict()
  .refine((n) => (n.newVpc === undefined) !== (n.existingVpc === undefined), {
    message: 'give exactly one of "newVpc" and "existingVpc"',
  })
  // What the refinement established, in a type the stack can narrow on.
  .transform((n) => n as NetworkConfig);

export type NewVpcConfig = z.infer<typeof newVpcSchema>;
export type ExistingVpcConfig = z.infer<typeof existingVpcSchema>;
export type NetworkConfig =
  | { newVpc: NewVpcConfig; existingVpc?: undefined }
  | { newVpc?: undefined; existingVpc: ExistingVpcConfig };
