import {
  DescribeInstancesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { mockClient } from "aws-sdk-client-mock";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { collect } from "./helpers/streams";
import { loadInventory } from "../cli/inventory-files";
import { runInventory } from "../cli/inventory";
import { awsError } from "./helpers/ec2-fixtures";

const SAMPLE = path.join(__dirname, "..", "samples", "inventory");
const sample = (file: string) => JSON.parse(readFileSync(path.join(SAMPLE, file), "utf8"));
const ec2 = mockClient(EC2Client);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);

beforeEach(() => {
  ec2.reset();
  tagging.reset();
  const enis = sample("describe-network-interfaces.json").NetworkInterfaces;
  // Two pages of ENIs: the listing must follow NextToken.
  ec2.on(DescribeNetworkInterfacesCommand, { NextToken: undefined, MaxResults: 1000 }).resolves({ NetworkInterfaces: enis.slice(0, 10), NextToken: "p2" });
  ec2.on(DescribeNetworkInterfacesCommand, { NextToken: "p2", MaxResults: 1000 }).resolves({ NetworkInterfaces: enis.slice(10) });
  ec2.on(DescribeSecurityGroupsCommand).resolves(sample("describe-security-groups.json"));
  ec2.on(DescribeSubnetsCommand).resolves(sample("describe-subnets.json"));
  ec2.on(DescribeInstancesCommand).resolves(sample("describe-instances.json"));
  ec2.on(DescribeManagedPrefixListsCommand).resolves(sample("describe-managed-prefix-lists.json"));
  ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: "us-east-1" }, { RegionName: "eu-west-1" }] });
  tagging.on(GetResourcesCommand, { PaginationToken: undefined }).resolves({ ResourceTagMappingList: sample("get-resources.json").ResourceTagMappingList.slice(0, 1), PaginationToken: "t2" });
  tagging.on(GetResourcesCommand, { PaginationToken: "t2" }).resolves({ ResourceTagMappingList: sample("get-resources.json").ResourceTagMappingList.slice(1), PaginationToken: "" });
});

async function inventory(region: string | undefined, fetchIpRanges = async () => sample("ip-ranges.json")) {
  const outDir = mkdtempSync(path.join(tmpdir(), "flowtap-inventory-"));
  const stderr = collect();
  const status = await runInventory({ outDir, region }, { stderr: stderr.stream }, { ec2: () => new EC2Client({ region: "us-east-1" }), tagging: () => new ResourceGroupsTaggingAPIClient({ region: "us-east-1" }), fetchIpRanges });
  return { status, outDir, err: stderr.text() };
}

describe("flowtap inventory", () => {
  it("writes every page of every call as the AWS CLI prints it, which enrich then reads", async () => {
    const { status, outDir } = await inventory("us-east-1");
    expect(status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(outDir, "describe-network-interfaces.json"), "utf8")).NetworkInterfaces).toHaveLength(24);
    expect(JSON.parse(readFileSync(path.join(outDir, "get-resources.json"), "utf8")).ResourceTagMappingList).toHaveLength(3);
    const loaded = loadInventory(outDir);
    expect(loaded.byAddress.get("10.0.0.6")?.arn).toBe("arn:aws:lambda:us-east-1:123456789010:function:orders-api");
    expect(loaded.ipRanges?.lookup("52.217.1.1")?.service).toBe("S3");
  });

  it("covers every region enabled for the account when none is given", async () => {
    const { err } = await inventory(undefined);
    expect(err).toContain("us-east-1: 24 network interfaces");
    expect(err).toContain("eu-west-1: 24 network interfaces");
    expect(err).toContain("for 2 region(s)");
  });

  it("retries throttling", async () => {
    ec2.on(DescribeSubnetsCommand).rejectsOnce(awsError("RequestLimitExceeded", "Request limit exceeded.")).resolves(sample("describe-subnets.json"));
    expect((await inventory("us-east-1")).status).toBe(0);
  });

  it("says how to add ip-ranges.json when it cannot be fetched", async () => {
    const { status, err } = await inventory("us-east-1", async () => {
      throw new Error("getaddrinfo ENOTFOUND ip-ranges.amazonaws.com");
    });
    expect(status).toBe(0);
    expect(err).toMatch(/ip-ranges\.json not fetched \(getaddrinfo ENOTFOUND ip-ranges\.amazonaws\.com\); .* curl -o .*ip-ranges\.json https:\/\/ip-ranges\.amazonaws\.com\/ip-ranges\.json/);
  });
});
