import { parseOrgConfig } from "../config/load";
import { rolloutManifest, type RolloutManifest } from "../config/rollout-manifest";
import { rolloutReview, withStackFacts } from "../config/rollout-review";
import { exampleConfigFile, exampleOrg, synthAll } from "./helpers/synth";

function reviewedManifest(config = exampleOrg): RolloutManifest {
  const stacks = synthAll(config);
  return withStackFacts(rolloutManifest(config, exampleConfigFile), (name) => stacks.get(name)!.tf);
}

describe("rollout manifest and ROLLOUT.md", () => {
  const manifest = reviewedManifest();
  const review = rolloutReview(manifest);

  it("records per stack what each workspace deploys and the IAM each role gets", () => {
    const ec2 = manifest.stacks.find((s) => s.name === "ec2-mirroring")!;
    expect(ec2.resources).toMatchObject({ aws_lambda_function: 2, aws_ec2_traffic_mirror_filter_rule: 4, aws_iam_role: 2 });
    expect(ec2.roles!["flowtap-ec2-mirroring-reconciler-<region>"]).toEqual({
      trustedBy: ["lambda.amazonaws.com"],
      actions: expect.arrayContaining(["ec2:DeleteTrafficMirrorSession", "ec2:DescribeInstances"]),
    });
    expect(ec2.roles!["flowtap-ec2-mirroring-<region>"].actions).not.toContain("ec2:DeleteTrafficMirrorSession");
  });

  it("shows where each feature runs as an account × region matrix", () => {
    expect(review).toContain("| account | OU | eu-west-1 | us-east-1 |");
    expect(review).toContain("| workloads-prod (222222222222) | ou-ab12-11111111 | ec2-mirroring, fargate-mirroring, flow-insights, nat-flow-recorder | ec2-mirroring, fargate-mirroring, flow-insights, nat-flow-recorder |");
    expect(review).toContain("| workloads-staging (333333333333) | ou-ab12-22222222 | – | ec2-mirroring, flow-log-sg-enrichment |");
    expect(review).toContain("| shared-services (444444444444) | ou-ab12-33333333 | – | nat-flow-recorder |");
  });

  it("lists the stacks in the order to apply them, with their dependencies, resources and permissions", () => {
    const order = [...review.matchAll(/^## (\S+) \((central|member)/gm)].map((m) => m[1]);
    expect(order).toEqual(["mirror-target", "flow-insights-central", "ec2-mirroring", "fargate-mirroring", "nat-flow-recorder", "flow-log-sg-enrichment", "flow-insights"]);
    expect(review).toContain("## ec2-mirroring (member, 3 workspaces)");
    expect(review).toContain("applied after `mirror-target` (reads its outputs).");
    expect(review).toContain("| `aws_ram_resource_share` | 2 |");
    expect(review).toMatch(/\| `flowtap-fargate-mirroring-reconciler-<region>` \| `lambda\.amazonaws\.com` \| .*`ecs:ListTasks`/);
  });

  it("says what changed against a previous manifest: workspaces, resource counts and permissions", () => {
    const bigger = reviewedManifest(
      parseOrgConfig(
        `${JSON.stringify({ ...exampleOrg, accounts: [...exampleOrg.accounts, { id: "555555555555", name: "new-team", regions: ["us-east-1"], features: ["ec2-mirroring"] }] })}`,
        "org.json",
      ),
    );
    const previous: RolloutManifest = {
      ...manifest,
      stacks: manifest.stacks
        .filter((s) => s.name !== "fargate-mirroring")
        .map((s) =>
          s.name === "ec2-mirroring"
            ? {
                ...s,
                resources: { ...s.resources, aws_lambda_permission: 2 },
                roles: { ...s.roles, "flowtap-ec2-mirroring-<region>": { trustedBy: ["lambda.amazonaws.com"], actions: ["ec2:DescribeInstances", "ec2:RunInstances"] } },
              }
            : s,
        ),
    };
    const changes = rolloutReview(bigger, previous).split("## Where")[0];
    expect(changes).toContain("## Changes since the previous manifest");
    expect(changes).toContain("- stack `fargate-mirroring` added, in 2 workspace(s)");
    expect(changes).toContain("- `ec2-mirroring`: workspaces added: 555555555555-us-east-1");
    expect(changes).toContain("- `ec2-mirroring`: `aws_lambda_permission` 2 → 3 per workspace");
    expect(changes).toMatch(/- `ec2-mirroring`: role `flowtap-ec2-mirroring-<region>` newly allowed .*`ec2:CreateTrafficMirrorSession`/);
    expect(changes).toContain("- `ec2-mirroring`: role `flowtap-ec2-mirroring-<region>` no longer allowed `ec2:RunInstances`");
  });

  it("says so when nothing changed", () => {
    expect(rolloutReview(manifest, manifest)).toContain("No stack, workspace, resource count or permission changed.");
  });
});
