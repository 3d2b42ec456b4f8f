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
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { collect } from "./helpers/streams";
import { loadInventory } from "../cli/inventory-files";
import { defaultClients, runInventory } from "../cli/inventory";
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

async function inventory(region: string | undefined, fetchIpRanges = async () => sample("ip-ranges.json"), configuredRegion = async (): Promise<string | undefined> => undefined) {
  const outDir = mkdtempSync(path.join(tmpdir(), "flowtap-inventory-"));
  const stderr = collect();
  const clients = { ec2: (r: string) => new EC2Client({ region: r }), tagging: (r: string) => new ResourceGroupsTaggingAPIClient({ region: r }), fetchIpRanges, configuredRegion };
  const status = await runInventory({ outDir, region }, { stderr: stderr.stream }, clients);
  return { status, outDir, err: stderr.text() };
}

/** A service control policy that denies every region but those given, as landing zones commonly attach. */
function denyRegionsBut(...allowed: string[]) {
  const refuse = async (denial: Error, answer: () => unknown, getClient: () => { config: { region: () => Promise<string> } }) => {
    if (!allowed.includes(await getClient().config.region())) throw denial;
    return answer();
  };
  const denied = (action: string) =>
    awsError("UnauthorizedOperation", `You are not authorized to perform this operation. User: arn:aws:sts::123456789010:assumed-role/ReadOnly/me is not authorized to perform: ${action} with an explicit deny in a service control policy.`);
  ec2.on(DescribeSubnetsCommand).callsFake((_input, getClient) => refuse(denied("ec2:DescribeSubnets"), () => sample("describe-subnets.json"), getClient as never));
  tagging
    .on(GetResourcesCommand)
    .callsFake((_input, getClient) => refuse(awsError("AccessDeniedException", "User is not authorized to perform: tag:GetResources with an explicit deny in a service control policy"), () => sample("get-resources.json"), getClient as never));
}

describe("flowtap inventory", () => {
  it("writes every page of every call as the AWS CLI prints it, which enrich then reads", async () => {
    const { status, outDir } = await inventory("us-east-1");
    expect(status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(outDir, "describe-network-interfaces.json"), "utf8")).NetworkInterfaces).toHaveLength(24);
    expect(JSON.parse(readFileSync(path.join(outDir, "get-resources.json"), "utf8")).ResourceTagMappingList).toHaveLength(3);
    const loaded = loadInventory([outDir]);
    expect(loaded.byAddress.get("10.0.0.6")?.arn).toBe("arn:aws:lambda:us-east-1:123456789010:function:orders-api");
    expect(loaded.ipRanges?.lookup("52.217.1.1")?.service).toBe("S3");
  });

  it("covers every region enabled for the account when none is given", async () => {
    const { err } = await inventory(undefined);
    expect(err).toContain("us-east-1: 24 network interfaces");
    expect(err).toContain("eu-west-1: 24 network interfaces");
    expect(err).toContain("for 2 region(s)");
  });

  it("leaves out the regions a policy refuses (a service control policy's region deny), naming each, and writes the others", async () => {
    ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: "us-east-1" }, { RegionName: "ap-south-1" }, { RegionName: "eu-west-1" }] });
    denyRegionsBut("us-east-1", "eu-west-1");
    const { status, outDir, err } = await inventory(undefined);
    expect(status).toBe(0);
    expect(err).toContain("ap-south-1: left out: ec2:DescribeSubnets refused (UnauthorizedOperation: You are not authorized to perform this operation.");
    expect(err).toMatch(/flowtap inventory: wrote .* for 2 region\(s\) \(us-east-1, eu-west-1\); 1 left out, refused: ap-south-1\n$/);
    // The two regions' ENIs, in the order the regions were listed.
    const enis = JSON.parse(readFileSync(path.join(outDir, "describe-network-interfaces.json"), "utf8")).NetworkInterfaces;
    expect(enis).toHaveLength(48);
  });

  it("fails when every region refuses, and when a region it was given refuses", async () => {
    denyRegionsBut();
    const all = await inventory(undefined);
    expect(all.status).toBe(1);
    expect(all.err).toMatch(/flowtap inventory: every region refused \(us-east-1, eu-west-1\); nothing written\n$/);
    expect(readdirSync(all.outDir)).toEqual([]);
    await expect(inventory("eu-west-1")).rejects.toThrow("eu-west-1: ec2:DescribeSubnets refused (UnauthorizedOperation: You are not authorized");
  });

  it("lists the enabled regions in the configured region, which a data-residency policy may leave as the only one open", async () => {
    ec2.on(DescribeRegionsCommand).callsFake(async (_input, getClient) => {
      if ((await getClient().config.region()) !== "eu-west-1") throw awsError("UnauthorizedOperation", "You are not authorized to perform this operation. … with an explicit deny in a service control policy.");
      return { Regions: [{ RegionName: "eu-west-1" }] };
    });
    const configured = await inventory(undefined, undefined, async () => "eu-west-1");
    expect(configured.status).toBe(0);
    expect(configured.err).toContain("for 1 region(s) (eu-west-1)");
    await expect(inventory(undefined)).rejects.toThrow(
      "us-east-1: ec2:DescribeRegions refused (UnauthorizedOperation: You are not authorized to perform this operation. … with an explicit deny in a service control policy.); name a region the account may use with --region, AWS_REGION or the profile's region",
    );
  });

  it("takes the configured region from AWS_REGION or the profile's region", async () => {
    const config = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-aws-config-")), "config");
    writeFileSync(config, "[profile eu]\nregion = eu-central-1\n");
    const saved = { AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE, AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION, AWS_PROFILE: process.env.AWS_PROFILE };
    try {
      Object.assign(process.env, { AWS_CONFIG_FILE: config });
      for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"] as const) delete process.env[name];
      expect(await defaultClients({ outDir: "unused", profile: "eu" }).configuredRegion()).toBe("eu-central-1");
      expect(await defaultClients({ outDir: "unused" }).configuredRegion()).toBeUndefined();
      process.env.AWS_REGION = "ap-south-1";
      expect(await defaultClients({ outDir: "unused" }).configuredRegion()).toBe("ap-south-1");
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("reads four regions at once (each has its own rate limits)", async () => {
    const names = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"];
    ec2.on(DescribeRegionsCommand).resolves({ Regions: names.map((RegionName) => ({ RegionName })) });
    let reading = 0;
    let most = 0;
    ec2.on(DescribeSubnetsCommand).callsFake(async () => {
      most = Math.max(most, ++reading);
      await new Promise((resolve) => setTimeout(resolve, 20));
      reading--;
      return sample("describe-subnets.json");
    });
    const { status, err } = await inventory(undefined);
    expect({ status, most }).toEqual({ status: 0, most: 4 });
    expect(err).toContain(`for 6 region(s) (${names.join(", ")})`);
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
