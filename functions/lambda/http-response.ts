import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export type Response = APIGatewayProxyStructuredResultV2;

export const jsonHeaders = { "content-type": "application/json" };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): Response {
  return { statusCode, headers: { ...jsonHeaders, ...headers }, body: JSON.stringify(body) };
}

export function errorBody(statusCode: number, code: string, message: string): Response {
  return json(statusCode, { error: { code, message } });
}
