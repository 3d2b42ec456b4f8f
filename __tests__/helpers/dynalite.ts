import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { AddressInfo } from "node:net";

// dynalite has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, number>) => import("node:http").Server;

/** A real DynamoDB API (dynalite) on a loopback port, for as long as a test file runs. */
export async function startDynalite(): Promise<{ endpoint: string; client: DynamoDBClient; stop: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "test" } });
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The recorder's table, as the nat-flow-recorder module creates it. */
export async function createRecordingsTable(client: DynamoDBClient, TableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName,
      AttributeDefinitions: [{ AttributeName: "natGatewayId", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "natGatewayId", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
}

/** The flow-insights inventory table, as the flow-insights-central stack creates it (keys pk and sk). */
export async function createInventoryTable(client: DynamoDBClient, TableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName,
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
}
