import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges one cdk-nag finding on `scope` and everything below it. The reason is required and
 * says why the finding does not apply or what covers it; the nag test reads them all back.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`acknowledging ${id} needs a real reason`);
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * How cdk-nag writes a resource in an IAM5 finding id (`Resource::<Bucket.Arn>/prefix/*`): a value
 * resolved to CloudFormation, with references in angle brackets (as its flattenCfnReference does).
 */
export function nagResource(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return "";
    if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/}/g, ">");
    const o = node as Record<string, unknown>;
    if (o["Fn::Join"]) {
      const [delimiter, items] = o["Fn::Join"] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (o["Fn::Sub"]) return visit(o["Fn::Sub"]);
    if (o["Fn::GetAtt"]) {
      const [resource, attribute] = o["Fn::GetAtt"] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (o["Fn::ImportValue"]) return visit(o["Fn::ImportValue"]);
    if (o.Ref) return `<${visit(o.Ref)}>`;
    return JSON.stringify(node);
  };
  return `Resource::${visit(Stack.of(scope).resolve(value))}`;
}
