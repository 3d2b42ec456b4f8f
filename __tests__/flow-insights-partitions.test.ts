import { GetTableCommand, GlueClient, UpdateTableCommand, type Table } from "@aws-sdk/client-glue";
import type { S3Event } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { accountsOf, forgetProjectedAccounts, handler } from "../functions/flow-insights/partitions";
import { captureOutput, metricValues } from "./helpers/capture-output";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";
import { fixture } from "./helpers/ec2-fixtures";

const glue = mockClient(GlueClient);
const sentActions = recordSentActions({ GlueClient: glue });
/** AWS's documented S3 event message, for an object Firehose wrote for an account the table does not project yet. */
const created = fixture<S3Event>("s3-object-created.json");
const keyed = (...keys: string[]): S3Event => ({ Records: keys.map((key) => ({ ...created.Records[0], s3: { ...created.Records[0].s3, object: { ...created.Records[0].s3.object, key } } })) });

/** The flows table as GetTable answers it: what Terraform made, and what only Glue writes. */
const table = (accounts: string, versionId = "1"): Table => ({
  Name: "flows",
  DatabaseName: "flowtap_flow_insights",
  Description: "Enriched VPC flow log records (flowtap's enriched record)",
  TableType: "EXTERNAL_TABLE",
  Retention: 0,
  PartitionKeys: [{ Name: "account_id", Type: "string" }, { Name: "region", Type: "string" }, { Name: "date", Type: "string" }],
  StorageDescriptor: { Location: "s3://flowtap-flow-insights-111111111111-us-east-1/flow-logs/", Columns: [{ Name: "version", Type: "int" }] },
  Parameters: { EXTERNAL: "TRUE", "projection.enabled": "true", "projection.account_id.type": "enum", "projection.account_id.values": accounts },
  CreateTime: new Date("2026-12-01T00:00:00Z"),
  UpdateTime: new Date("2026-12-01T00:00:00Z"),
  CreatedBy: "arn:aws:iam::111111111111:role/flowtap-deploy",
  IsRegisteredWithLakeFormation: false,
  CatalogId: "111111111111",
  VersionId: versionId,
});

let output: ReturnType<typeof captureOutput>;
beforeAll(() => Object.assign(process.env, { DATABASE_NAME: "flowtap_flow_insights", TABLE_NAME: "flows", DATA_PREFIX: "flow-logs/", POWERTOOLS_METRICS_NAMESPACE: "flowtap", AWS_REGION: "us-east-1" }));
beforeEach(() => {
  glue.reset();
  forgetProjectedAccounts();
  output = captureOutput();
});
afterEach(() => output.restore());

describe("the flow-insights partitions function", () => {
  it("reads the accounts of the objects an S3 event names, from URL-encoded keys under the data prefix", () => {
    expect([...accountsOf(created, "flow-logs/")]).toEqual(["555555555555"]);
    const event = keyed("flow-logs/account_id%3Dunknown/region%3Dus-east-1/date%3D2026-12-08/x.parquet", "errors/format-conversion-failed/x", "flow-logs/account_id%3Dnot-an-account/x", "ip-ranges/ip-ranges.json");
    expect([...accountsOf(event, "flow-logs/")]).toEqual(["unknown"]);
  });

  it("adds a new member account to the table's projected accounts, keeping everything else as it was", async () => {
    glue.on(GetTableCommand).resolves({ Table: table("222222222222,333333333333,unknown") });
    glue.on(UpdateTableCommand).resolves({});
    expect(await handler(created)).toEqual({ added: ["555555555555"] });
    const update = glue.commandCalls(UpdateTableCommand)[0].args[0].input;
    expect(update).toEqual({
      DatabaseName: "flowtap_flow_insights",
      VersionId: "1",
      TableInput: {
        Name: "flows",
        Description: "Enriched VPC flow log records (flowtap's enriched record)",
        TableType: "EXTERNAL_TABLE",
        Retention: 0,
        PartitionKeys: table("").PartitionKeys,
        StorageDescriptor: table("").StorageDescriptor,
        Parameters: { ...table("").Parameters, "projection.account_id.values": "222222222222,333333333333,unknown,555555555555" },
        Owner: undefined,
      },
    });
    expect(metricValues(output.lines(), "AccountsAdded")).toEqual([1]);
  });

  it("writes nothing for objects of accounts the table projects already, or outside the data prefix", async () => {
    glue.on(GetTableCommand).resolves({ Table: table("222222222222,555555555555,unknown") });
    expect(await handler(created)).toEqual({ added: [] });
    expect(await handler(keyed("errors/processing-failed/x"))).toEqual({ added: [] });
    expect(glue).not.toHaveReceivedCommand(UpdateTableCommand);
    expect(glue).toHaveReceivedCommandTimes(GetTableCommand, 1);
  });

  it("asks Glue nothing, in a warm container, for objects of accounts it saw projected or added", async () => {
    glue.on(GetTableCommand).resolves({ Table: table("222222222222,unknown") });
    glue.on(UpdateTableCommand).resolves({});
    await handler(created);
    await handler(created);
    await handler(keyed("flow-logs/account_id%3D222222222222/region%3Dus-east-1/date%3D2026-12-08/x.parquet"));
    expect(glue).toHaveReceivedCommandTimes(GetTableCommand, 1);
    expect(glue).toHaveReceivedCommandTimes(UpdateTableCommand, 1);
  });

  it("reads the table again when it changed while being written, so that no account added at the same time is lost", async () => {
    glue
      .on(GetTableCommand)
      .resolvesOnce({ Table: table("222222222222,unknown", "1") })
      .resolves({ Table: table("222222222222,unknown,666666666666", "2") });
    glue
      .on(UpdateTableCommand)
      .rejectsOnce(Object.assign(new Error("Update table failed due to concurrent modifications."), { name: "ConcurrentModificationException", $metadata: {} }))
      .resolves({});
    expect(await handler(created)).toEqual({ added: ["555555555555"] });
    const last = glue.commandCalls(UpdateTableCommand)[1].args[0].input;
    expect(last.VersionId).toBe("2");
    expect(last.TableInput?.Parameters?.["projection.account_id.values"]).toBe("222222222222,unknown,666666666666,555555555555");
  });

  it("fails the invocation (Lambda retries it, then keeps it in the failure queue) on any other error", async () => {
    glue.on(GetTableCommand).resolves({ Table: table("unknown") });
    glue.on(UpdateTableCommand).rejects(Object.assign(new Error("User is not authorized"), { name: "AccessDeniedException", $metadata: {} }));
    await expect(handler(created)).rejects.toThrow("User is not authorized");
  });

  it("sends only the requests its role's permission table declares", () => {
    const declared = declaredActionsOf("flowtap-flow-insights-partitions");
    expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
    expect(sentActions.size).toBeGreaterThan(0);
  });
});
