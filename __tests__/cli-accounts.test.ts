import {
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { mockClient } from "aws-sdk-client-mock";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { collect } from "./helpers/streams";
import { runAccounts } from "../cli/accounts-command";
import { EXAMPLE_CONFIG_PATH, parseOrgConfig } from "../config/load";
import { awsError } from "./helpers/ec2-fixtures";

const org = mockClient(OrganizationsClient);
const ROOT = "r-ab12";
const WORKLOADS = "ou-ab12-11111111";
const STAGING = "ou-ab12-22222222";
const SHARED = "ou-ab12-33333333";
const account = (Id: string, Name: string, State: "ACTIVE" | "SUSPENDED" = "ACTIVE") => ({
  JoinedMethod: "CREATED" as const,
  Id,
  Arn: `arn:aws:organizations::999999999999:account/o-a1b2c3d4e5/${Id}`,
  Email: `${Name}@example.com`,
  Name,
  State,

  JoinedTimestamp: new Date("2024-01-01T00:00:00Z"),
});

beforeEach(() => {
  org.reset();
  org.on(ListRootsCommand).resolves({ Roots: [{ Id: ROOT, Arn: `arn:aws:organizations::999999999999:root/o-a1b2c3d4e5/${ROOT}`, Name: "Root", PolicyTypes: [] }] });
  org.on(ListOrganizationalUnitsForParentCommand).resolves({ OrganizationalUnits: [] });
  org.on(ListOrganizationalUnitsForParentCommand, { ParentId: ROOT }).resolves({
    OrganizationalUnits: [{ Id: WORKLOADS, Name: "Workloads" }, { Id: SHARED, Name: "Shared" }],
  });
  org.on(ListOrganizationalUnitsForParentCommand, { ParentId: WORKLOADS }).resolves({ OrganizationalUnits: [{ Id: STAGING, Name: "Staging" }] });
  org.on(ListAccountsForParentCommand).resolves({ Accounts: [] });
  org.on(ListAccountsForParentCommand, { ParentId: ROOT }).resolves({ Accounts: [account("999999999999", "management")] });
  // Two pages under Workloads: the listing must follow NextToken.
  org
    .on(ListAccountsForParentCommand, { ParentId: WORKLOADS, NextToken: undefined })
    .resolves({ Accounts: [account("222222222222", "workloads-prod")], NextToken: "page-2" });
  org.on(ListAccountsForParentCommand, { ParentId: WORKLOADS, NextToken: "page-2" }).resolves({ Accounts: [account("555555555555", "new-team")] });
  // 333333333333 moved from Staging to Shared; 444444444444 was closed.
  org.on(ListAccountsForParentCommand, { ParentId: SHARED }).resolves({ Accounts: [account("333333333333", "workloads-staging"), account("444444444444", "shared-services", "SUSPENDED")] });
});

function configCopy(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-accounts-")), "org.yaml");
  copyFileSync(EXAMPLE_CONFIG_PATH, file);
  return file;
}

async function accounts(options: { write?: boolean; regions?: string[]; features?: string[] }, file = configCopy()) {
  const stdout = collect();
  const stderr = collect();
  const status = await runAccounts(
    { configFile: file, newAccountRegions: options.regions ?? [], newAccountFeatures: options.features ?? [], write: options.write ?? false },
    { stdout: stdout.stream, stderr: stderr.stream },
    new OrganizationsClient({ region: "us-east-1" }),
  );
  return { status, out: stdout.text(), err: stderr.text(), file };
}

describe("flowtap accounts --from-organizations", () => {
  it("adds the organization's new active accounts with their OU, and lists every OU with its path", async () => {
    const { status, out, err } = await accounts({ regions: ["us-east-1"], features: ["ec2-mirroring"] });
    expect(status).toBe(0);
    const merged = parseOrgConfig(out, "merged.yaml");
    expect(merged.accounts.find((a) => a.id === "555555555555")).toEqual({ id: "555555555555", name: "new-team", ou: WORKLOADS, regions: ["us-east-1"], features: ["ec2-mirroring"] });
    expect(merged.organization.organizationalUnits).toEqual([
      { id: WORKLOADS, name: "Workloads", path: "Root/Workloads" },
      { id: SHARED, name: "Shared", path: "Root/Shared" },
      { id: STAGING, name: "Staging", path: "Root/Workloads/Staging" },
    ]);
    expect(err).toContain("added 555555555555 new-team (Root/Workloads)");
    expect(err).toContain("added 999999999999 management (Root)");
  });

  it("keeps the config's comments and quotes new account ids", async () => {
    const { out } = await accounts({});
    expect(out).toContain("# The embedded example organization");
    expect(out).toMatch(/id: "555555555555"/);
  });

  it("moves an account whose OU changed, and reports accounts no longer active without removing them", async () => {
    const { out, err } = await accounts({});
    const merged = parseOrgConfig(out, "merged.yaml");
    expect(merged.accounts.find((a) => a.id === "333333333333")?.ou).toBe(SHARED);
    expect(merged.accounts.some((a) => a.id === "444444444444")).toBe(true);
    expect(err).toContain(`moved 333333333333 workloads-staging from ${STAGING} to ${SHARED} (Root/Shared)`);
    expect(err).toContain("left in the config for you to remove: 444444444444 (Root/Shared)");
  });

  it("writes the merged config back with --write", async () => {
    const { file } = await accounts({ write: true, regions: ["us-east-1"] });
    expect(readFileSync(file, "utf8")).toContain("name: new-team");
  });

  it("writes nothing and exits 2 when the merge would not be a valid config", async () => {
    const { status, err, file } = await accounts({ write: true, features: ["ec2-mirroring"] });
    expect(status).toBe(2);
    expect(err).toMatch(/merged config would not be valid; nothing written:\n.*ec2-mirroring enabled but the account has no region to deploy to/);
    expect(readFileSync(file, "utf8")).not.toContain("new-team");
  });

  it("retries Organizations throttling (TooManyRequestsException)", async () => {
    org.on(ListRootsCommand).rejectsOnce(awsError("TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress.")).resolves({ Roots: [{ Id: ROOT, Name: "Root" }] });
    expect((await accounts({})).status).toBe(0);
    expect(org).toHaveReceivedCommandTimes(ListRootsCommand, 2);
  });
});
