import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ConfigError, EXAMPLE_CONFIG_PATH, loadOrgConfig, parseOrgConfig } from "../config/load";
import { rolloutManifest } from "../config/rollout-manifest";
import { workspacesOf } from "../config/workspaces";

const problemsOf = (text: string): string[] => {
  try {
    parseOrgConfig(text, "org.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("the config was accepted");
};

const valid = `organization: {id: o-a1b2c3d4e5, name: x}
central: {accountId: "111111111111", region: us-east-1}
features:
  ec2Mirroring:
    targetIds: {us-east-1: tmt-0a1b2c3d4e5f60001}
accounts:
  - {id: "222222222222", name: a, regions: [us-east-1], features: [ec2-mirroring]}
`;

describe("org config", () => {
  it("loads the embedded example with defaults applied", () => {
    const config = loadOrgConfig(EXAMPLE_CONFIG_PATH);
    expect(config.rollout).toEqual({ assumeRoleName: "OrganizationAccountAccessRole", sessionName: "flowtap" });
    expect(workspacesOf(config).map((w) => w.name)).toEqual([
      "222222222222-us-east-1",
      "222222222222-eu-west-1",
      "333333333333-us-east-1",
      "444444444444-us-east-1",
    ]);
  });

  it("reports every problem on its own line with file, line, path and what is expected", () => {
    const problems = problemsOf(`organization: {id: o-a1b2c3d4e5, name: x}
central: {accountId: "1111", region: us-east-1}
accounts:
  - id: "222222222222"
    name: a
    regions: [us-east-1]
    features: [ec2-mirroring, nat-recorder]
    colour: blue
`);
    expect(problems).toEqual([
      'org.yaml:2:22: central.accountId: expected a 12-digit AWS account id in quotes, e.g. "123456789012"',
      "org.yaml:7:31: accounts[0].features[1]: expected one of: ec2-mirroring, fargate-mirroring, nat-flow-recorder, flow-log-sg-enrichment, flow-insights",
      "org.yaml:8:5: accounts[0].colour: unknown setting; check its spelling against config/schema.ts",
    ]);
  });

  it("names a wrong type and where it is", () => {
    expect(problemsOf(valid.replace("name: a,", "name: 7,"))).toEqual([
      "org.yaml:7:32: accounts[0].name: Invalid input: expected string, received number",
    ]);
  });

  it("refuses ec2-mirroring in a region with no mirror target, saying where to add one", () => {
    expect(problemsOf(valid.replace("regions: [us-east-1]", "regions: [us-east-1, eu-west-1]"))).toEqual([
      "org.yaml:7:56: accounts[0].regions[1]: ec2-mirroring is enabled here but no mirror target is set for eu-west-1: add features.ec2Mirroring.targetIds.eu-west-1 (or accounts[0].ec2Mirroring.targetIds.eu-west-1), or a target in eu-west-1 under features.mirrorTarget.targets",
    ]);
  });

  it("refuses an account listed twice", () => {
    const twice = `${valid}  - {id: "222222222222", name: b, regions: [eu-west-1], features: []}\n`;
    expect(problemsOf(twice)).toEqual([
      "org.yaml:8:10: accounts[1].id: account 222222222222 is listed twice (first at accounts[0]); merge the two entries",
    ]);
  });

  it("refuses an account in an OU the organization does not list", () => {
    const withOus = valid
      .replace("organization: {id: o-a1b2c3d4e5, name: x}", "organization: {id: o-a1b2c3d4e5, name: x, organizationalUnits: [{id: ou-ab12-11111111, name: Workloads}]}")
      .replace("features: [ec2-mirroring]}", "features: [ec2-mirroring], ou: ou-ab12-99999999}");
    expect(problemsOf(withOus)).toEqual([
      expect.stringMatching(/accounts\[0\]\.ou: ou-ab12-99999999 is not in organization\.organizationalUnits; add it there, or fix the id/),
    ]);
  });

  it("refuses features enabled in an account with no region", () => {
    expect(problemsOf(valid.replace("regions: [us-east-1]", "regions: []"))).toEqual([
      expect.stringMatching(/accounts\[0\]\.features: ec2-mirroring enabled but the account has no region to deploy to: add regions, or remove the features$/),
    ]);
  });

  it("asks nat-flow-recorder for a threshold or anomaly detection, and for a tag key with a tag value; NAT gateways need not be listed", () => {
    const nat = valid.replace("features: [ec2-mirroring]}", "features: [nat-flow-recorder]}");
    expect(problemsOf(nat)).toEqual([expect.stringMatching(/accounts\[0\]\.features: nat-flow-recorder needs thresholdBytes, or anomalyDetection: true$/)]);
    const valueOnly = nat.replace("features: [nat-flow-recorder]}", "features: [nat-flow-recorder], natFlowRecorder: {anomalyDetection: true, natGatewayTagValue: yes}}");
    expect(problemsOf(valueOnly)).toEqual([expect.stringMatching(/accounts\[0\]\.natFlowRecorder: nat-flow-recorder: natGatewayTagValue needs natGatewayTagKey$/)]);
    const withNat = nat.replace("features: [nat-flow-recorder]}", "features: [nat-flow-recorder], natFlowRecorder: {natGatewayIds: {us-east-1: [nat-0a1b2c3d4e5f60001]}, anomalyDetection: true, datapointsToAlarm: 9}}");
    expect(problemsOf(withNat)).toEqual([expect.stringMatching(/natFlowRecorder: datapointsToAlarm \(9\) cannot exceed evaluationPeriods \(5\)$/)]);
  });

  it("reports YAML syntax errors with their position", () => {
    expect(problemsOf("organization: {id: o-a1b2c3d4e5\naccounts: [")[0]).toMatch(/^org\.yaml:\d+:\d+: invalid YAML: /);
  });

  it("applies per-account overrides over organization-wide settings", () => {
    const config = parseOrgConfig(valid.replace("features: [ec2-mirroring]}", "features: [ec2-mirroring], ec2Mirroring: {sessionNumber: 7}}"), "org.yaml");
    expect(workspacesOf(config)[0].ec2Mirroring).toMatchObject({
      sessionNumber: 7,
      excludeTagKey: "flowtap:exclude",
      targets: { kind: "config", targetId: "tmt-0a1b2c3d4e5f60001" },
    });
  });

  it("builds a rollout manifest: central stacks first, then each member stack's workspaces with account, OU, region and dependencies", () => {
    const manifest = rolloutManifest(loadOrgConfig(EXAMPLE_CONFIG_PATH), "config/example.org.yaml");
    expect(manifest.stacks.map((s) => [s.name, s.role, s.dependsOn])).toEqual([
      ["mirror-target", "central", []],
      ["flow-insights-central", "central", []],
      ["ec2-mirroring", "member", ["mirror-target"]],
      ["fargate-mirroring", "member", ["mirror-target"]],
      ["nat-flow-recorder", "member", []],
      ["flow-log-sg-enrichment", "member", []],
      ["flow-insights", "member", ["flow-insights-central"]],
    ]);
    expect(manifest.stacks[0].workspaces).toEqual([
      { name: "default", accountId: "111111111111", accountName: "central", region: "us-east-1", features: ["mirror-target"] },
    ]);
    expect(manifest.stacks[1].workspaces).toEqual([
      { name: "default", accountId: "111111111111", accountName: "central", region: "us-east-1", features: ["flow-insights-central"] },
    ]);
    const prod = ["ec2-mirroring", "fargate-mirroring", "nat-flow-recorder", "flow-insights"];
    expect(manifest.stacks[2].workspaces).toEqual([
      { name: "222222222222-us-east-1", accountId: "222222222222", accountName: "workloads-prod", ou: "ou-ab12-11111111", region: "us-east-1", features: prod },
      { name: "222222222222-eu-west-1", accountId: "222222222222", accountName: "workloads-prod", ou: "ou-ab12-11111111", region: "eu-west-1", features: prod },
      { name: "333333333333-us-east-1", accountId: "333333333333", accountName: "workloads-staging", ou: "ou-ab12-22222222", region: "us-east-1", features: ["ec2-mirroring", "flow-log-sg-enrichment"] },
    ]);
    expect(manifest.stacks[3].workspaces.map((w) => w.name)).toEqual(["222222222222-us-east-1", "222222222222-eu-west-1"]);
    expect(manifest.stacks[6].workspaces.map((w) => w.name)).toEqual(["222222222222-us-east-1", "222222222222-eu-west-1"]);
  });

  describe("mirror targets", () => {
    const withTargets = (targets: string, sharing = "shareWithOrganization: true", org = 'managementAccountId: "999999999999", ') =>
      `organization: {id: o-a1b2c3d4e5, name: x, ${org}}
central: {accountId: "111111111111", region: us-east-1}
features:
  mirrorTarget:
    targets: ${targets}
    ${sharing}
accounts:
  - {id: "222222222222", name: a, regions: [us-east-1], features: [ec2-mirroring]}
`;
    const nlb = (n: number) => `arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/s${n}/0a1b2c3d4e5f600${n}`;

    it("lets member accounts use the central targets of their region instead of a target id", () => {
      const config = parseOrgConfig(withTargets(`[{region: us-east-1, networkLoadBalancerArn: "${nlb(1)}"}]`), "org.yaml");
      expect(workspacesOf(config)[0].ec2Mirroring?.targets).toEqual({ kind: "mirror-target" });
    });

    it("refuses two targets for one zone, and two defaults for one region", () => {
      const problems = problemsOf(
        withTargets(`[{region: us-east-1, zoneId: use1-az1, networkLoadBalancerArn: "${nlb(1)}"}, {region: us-east-1, zoneId: use1-az1, networkLoadBalancerArn: "${nlb(2)}"}, {region: us-east-1, networkInterfaceId: eni-0a1b2c3d4e5f60001}, {region: us-east-1, networkInterfaceId: eni-0a1b2c3d4e5f60002}]`),
      );
      expect(problems).toEqual([
        expect.stringMatching(/features\.mirrorTarget\.targets\[1\]: a second target for zone use1-az1 \(first at targets\[0\]\); one target per availability zone$/),
        expect.stringMatching(/features\.mirrorTarget\.targets\[3\]: a second default target for us-east-1 \(first at targets\[2\]\); give one of them a zoneId$/),
      ]);
    });

    it("refuses a target that is both an NLB and an ENI, and a zone name given as a zone id", () => {
      const problems = problemsOf(withTargets(`[{region: us-east-1, zoneId: us-east-1a, networkLoadBalancerArn: "${nlb(1)}", networkInterfaceId: eni-0a1b2c3d4e5f60001}]`));
      expect(problems).toEqual([
        expect.stringMatching(/targets\[0\]\.zoneId: expected an availability zone id such as use1-az1$/),
        expect.stringMatching(/targets\[0\]: give exactly one of networkLoadBalancerArn, gatewayLoadBalancerEndpointId and networkInterfaceId$/),
      ]);
    });

    it("asks for exactly one way of sharing, and for the management account when sharing with the organization", () => {
      const target = `[{region: us-east-1, networkLoadBalancerArn: "${nlb(1)}"}]`;
      expect(problemsOf(withTargets(target, "shareWithAccounts: []"))).toEqual([
        expect.stringMatching(/features\.mirrorTarget: share the targets one way: shareWithOrganization: true, shareWithOus: \[\.\.\.\] or shareWithAccounts: \[\.\.\.\]$/),
      ]);
      expect(problemsOf(withTargets(target, "shareWithOus: [ou-ab12-11111111]", ""))).toEqual([
        expect.stringMatching(/organization: sharing with the organization or OUs needs organization\.managementAccountId/),
      ]);
    });
  });

  it("makes synth exit with status 2 and one line per problem, never a stack trace", () => {
    const root = path.join(__dirname, "..");
    const result = spawnSync(process.execPath, [path.join(root, "node_modules", "tsx", "dist", "cli.mjs"), "main.ts", "--config", "__tests__/fixtures/configs/bad.org.yaml", "--out", "/tmp/flowtap-bad-synth"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      '__tests__/fixtures/configs/bad.org.yaml:11:20: features.ec2Mirroring.sessionNumber: Invalid input: expected number, received string',
      '__tests__/fixtures/configs/bad.org.yaml:13:9: accounts[0].id: expected a 12-digit AWS account id in quotes, e.g. "123456789012"',
      "__tests__/fixtures/configs/bad.org.yaml:16:31: accounts[0].features[1]: expected one of: ec2-mirroring, fargate-mirroring, nat-flow-recorder, flow-log-sg-enrichment, flow-insights",
      "__tests__/fixtures/configs/bad.org.yaml:21:5: accounts[1].ec2Mirorring: unknown setting; check its spelling against config/schema.ts",
    ]);
  });
});
