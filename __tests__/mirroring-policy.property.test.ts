import fc from "fast-check";
import { parseMirroringEvent } from "../functions/lib/mirroring/events";
import { isEksNode, sourceExclusion, type SourceFacts } from "../functions/lib/mirroring/policy";
import {
  MAX_SESSIONS_PER_INTERFACE,
  allocateSessionNumber,
  planSource,
  sessionsByInterface,
  type SessionFacts,
} from "../functions/lib/mirroring/sessions";
import { allTargetIds, settingsFromEnvironment, targetFor, type MirroringSettings } from "../functions/lib/mirroring/settings";

const TARGET = "tmt-0a1b2c3d4e5f60001";
const baseSettings: MirroringSettings = {
  targets: { byZoneId: {}, default: TARGET },
  filterId: "tmf-0a1b2c3d4e5f60001",
  excludeTagKey: "flowtap:exclude",
  excludeTagValue: "true",
  excludeEksNodes: true,
  vpcIds: [],
  subnetIds: [],
  sessionNumber: 1,
};

const sessionNumber = fc.integer({ min: 1, max: 32766 });

describe("session number allocation", () => {
  it("returns the preferred number when free, else the lowest free one, never a taken one", () => {
    fc.assert(
      fc.property(fc.uniqueArray(sessionNumber, { maxLength: 2 }), sessionNumber, (taken, preferred) => {
        const n = allocateSessionNumber(taken, preferred);
        expect(n).toBeDefined();
        expect(taken).not.toContain(n);
        if (!taken.includes(preferred)) expect(n).toBe(preferred);
        else for (let lower = 1; lower < n!; lower++) expect(taken).toContain(lower);
      }),
    );
  });

  it("refuses an ENI that already has AWS's maximum of 3 sessions", () => {
    fc.assert(
      fc.property(fc.uniqueArray(sessionNumber, { minLength: 3, maxLength: 3 }), sessionNumber, (taken, preferred) => {
        expect(allocateSessionNumber(taken, preferred)).toBeUndefined();
      }),
    );
  });
});

const tagKey = fc.oneof(
  fc.constantFrom("flowtap:exclude", "Name", "app", "aws:eks:cluster-name", "eks:cluster-name", "eks:nodegroup-name", "karpenter.sh/nodepool", "kubernetes.io/cluster/prod", "kubernetes.io/role"),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const tags = fc.dictionary(tagKey, fc.constantFrom("true", "false", "owned", "", "TRUE", "truex"), { maxKeys: 5 });
const interfaceIds = fc.uniqueArray(fc.integer({ min: 0, max: 9 }).map((i) => `eni-0000000000000000${i}`), { minLength: 1, maxLength: 4 });

const instance: fc.Arbitrary<SourceFacts> = fc.record({
  kind: fc.constant("instance" as const),
  sourceId: fc.constant("i-1234567890abcdef0"),
  state: fc.constantFrom("running", "running", "running", "stopped", "pending"),
  tags,
  interfaces: interfaceIds.chain((ids) =>
    fc.tuple(...ids.map((id) =>
      fc.record({
        id: fc.constant(id),
        type: fc.constantFrom("interface", "interface", "efa", "trunk"),
        vpcId: fc.constantFrom("vpc-0abc1234def567890", "vpc-0fff1234def567890"),
        subnetId: fc.constantFrom("subnet-0aaaa1111bbbb2222", "subnet-0cccc3333dddd4444"),
        attachmentStatus: fc.constantFrom("attached", "attached", "detaching"),
      }),
    )),
  ),
});

const existingSessions = (facts: SourceFacts): fc.Arbitrary<SessionFacts[]> =>
  fc.array(
    fc.record({
      sessionId: fc.integer({ min: 0, max: 2 ** 31 }).map((n) => `tms-${n.toString(16).padStart(17, "0")}`),
      interfaceId: fc.constantFrom(...facts.interfaces.map((i) => i.id)),
      targetId: fc.constantFrom(TARGET, "tmt-0bbbbbbbbbbbbbbbb"),
      sessionNumber: fc.integer({ min: 1, max: 5 }),
      managedByFlowtap: fc.boolean(),
    }),
    { maxLength: 6 },
  ).map((sessions) => {
    // AWS holds at most 3 sessions per ENI, each with its own number.
    const byEni = sessionsByInterface(sessions);
    return [...byEni.values()].flatMap((list) => list.filter((s, i) => list.findIndex((o) => o.sessionNumber === s.sessionNumber) === i).slice(0, 3));
  });

const settings: fc.Arbitrary<MirroringSettings> = fc.record({
  excludeEksNodes: fc.boolean(),
  includeTagKey: fc.option(fc.constantFrom("app", "Name"), { nil: undefined }),
  includeTagValue: fc.option(fc.constantFrom("true", "owned"), { nil: undefined }),
  vpcIds: fc.constantFrom([], ["vpc-0abc1234def567890"]),
  subnetIds: fc.constantFrom([], ["subnet-0aaaa1111bbbb2222"], ["subnet-0cccc3333dddd4444", "subnet-0eeee5555ffff6666"]),
  sessionNumber: fc.integer({ min: 1, max: 4 }),
}).map((s) => ({ ...baseSettings, ...s }));

describe("mirroring plan", () => {
  const scenario = instance.chain((facts) => fc.tuple(fc.constant(facts), existingSessions(facts), settings));

  it("creates a session only on eligible ENIs with none to the target and a free slot, with an unused number", () => {
    fc.assert(
      fc.property(scenario, ([facts, sessions, s]) => {
        const byEni = sessionsByInterface(sessions);
        const plan = planSource(facts, byEni, s, new Set());
        for (const decision of plan.interfaces.filter((d) => d.action === "create")) {
          const onEni = byEni.get(decision.interfaceId) ?? [];
          const eni = facts.interfaces.find((i) => i.id === decision.interfaceId)!;
          expect(plan.excluded).toBeUndefined();
          expect(eni.type).toBe("interface");
          expect(eni.attachmentStatus).toBe("attached");
          expect(onEni.some((x) => x.targetId === TARGET)).toBe(false);
          expect(onEni.length).toBeLessThan(MAX_SESSIONS_PER_INTERFACE);
          if (decision.action === "create") expect(onEni.map((x) => x.sessionNumber)).not.toContain(decision.sessionNumber);
        }
      }),
    );
  });

  it("never removes a session flowtap did not create, nor a mirrored ENI's last session to the target", () => {
    fc.assert(
      fc.property(scenario, ([facts, sessions, s]) => {
        const byEni = sessionsByInterface(sessions);
        const plan = planSource(facts, byEni, s, new Set());
        for (const removal of plan.removals) expect(removal.managedByFlowtap).toBe(true);
        for (const decision of plan.interfaces.filter((d) => d.action === "skip" && d.reason === "already-mirrored")) {
          const remaining = (byEni.get(decision.interfaceId) ?? []).filter((x) => x.targetId === TARGET && !plan.removals.includes(x));
          expect(remaining.length).toBeGreaterThanOrEqual(1);
          // Of flowtap's own duplicates, exactly one is kept.
          expect(remaining.filter((x) => x.managedByFlowtap).length).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it("excludes exactly the instances the tag rules exclude", () => {
    fc.assert(
      fc.property(instance, settings, (facts, s) => {
        const excluded = sourceExclusion(facts, s);
        const expected =
          facts.state !== "running" ? "not-running"
          : facts.tags["flowtap:exclude"] === "true" ? "excluded-by-tag"
          : s.includeTagKey !== undefined && (!Object.hasOwn(facts.tags, s.includeTagKey) || (s.includeTagValue !== undefined && facts.tags[s.includeTagKey] !== s.includeTagValue)) ? "not-included-by-tag"
          : s.excludeEksNodes && isEksNode(facts.tags) ? "eks-node"
          : undefined;
        expect(excluded).toBe(expected);
      }),
    );
  });

  it("mirrors only ENIs in the allowed VPCs and subnets, and says which list left an ENI out", () => {
    fc.assert(
      fc.property(scenario, ([facts, sessions, s]) => {
        const plan = planSource(facts, sessionsByInterface(sessions), s, new Set());
        for (const decision of plan.interfaces) {
          const eni = facts.interfaces.find((i) => i.id === decision.interfaceId)!;
          const vpcAllowed = s.vpcIds.length === 0 || s.vpcIds.includes(eni.vpcId!);
          const subnetAllowed = s.subnetIds.length === 0 || s.subnetIds.includes(eni.subnetId!);
          if (decision.action === "create") expect(vpcAllowed && subnetAllowed).toBe(true);
          const mirrorable = eni.type === "interface" && eni.attachmentStatus === "attached";
          if (mirrorable && !vpcAllowed) expect(decision).toMatchObject({ action: "skip", reason: "vpc-not-allowed" });
          else if (mirrorable && !subnetAllowed) expect(decision).toMatchObject({ action: "skip", reason: "subnet-not-allowed" });
        }
      }),
    );
  });

  it("never mirrors an ENI that is a mirror target", () => {
    fc.assert(
      fc.property(scenario, ([facts, sessions, s]) => {
        const targets = new Set(facts.interfaces.map((i) => i.id));
        const plan = planSource(facts, sessionsByInterface(sessions), s, targets);
        expect(plan.interfaces.filter((d) => d.action === "create")).toEqual([]);
      }),
    );
  });
});

describe("event parsing", () => {
  it("never throws on arbitrary JSON, and accepts only well-formed events", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parseMirroringEvent(value);
        expect(typeof parsed.ok).toBe("boolean");
        if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  it("never throws on a documented event with any field replaced", () => {
    const sample = {
      id: "7bf73129-1428-4cd3-a780-95db273d1602",
      "detail-type": "EC2 Instance State-change Notification",
      source: "aws.ec2",
      detail: { "instance-id": "i-1234567890abcdef0", state: "running" },
    };
    fc.assert(
      fc.property(fc.constantFrom("id", "detail-type", "source", "detail"), fc.jsonValue(), (field, value) => {
        const parsed = parseMirroringEvent({ ...sample, [field]: value });
        if (parsed.ok) expect(parsed.trigger).toMatchObject({ instanceId: expect.stringMatching(/^i-[0-9a-f]+$/) });
      }),
    );
  });
});

describe("per-zone target selection", () => {
  const zoneIds = ["use1-az1", "use1-az2", "use1-az4", "use1-az6"];
  const targetsArb = fc.record({
    byZoneId: fc.dictionary(fc.constantFrom(...zoneIds), fc.integer({ min: 1, max: 9 }).map((n) => `tmt-0000000000000000${n}`), { maxKeys: 3 }),
    default: fc.option(fc.constant("tmt-0dddddddddddddddd"), { nil: undefined }),
  });

  it("sends a source to its own zone's target when there is one, else to the default, never to another zone's", () => {
    fc.assert(
      fc.property(targetsArb, fc.option(fc.constantFrom(...zoneIds), { nil: undefined }), (targets, zone) => {
        const chosen = targetFor(targets, zone);
        if (zone !== undefined && targets.byZoneId[zone]) expect(chosen).toBe(targets.byZoneId[zone]);
        else expect(chosen).toBe(targets.default);
      }),
    );
  });

  it("plans sessions only to the chosen target, and removes flowtap's sessions to the other configured targets once it has one", () => {
    fc.assert(
      fc.property(targetsArb, fc.constantFrom(...zoneIds), fc.boolean(), (targets, zone, alreadyOnZoneTarget) => {
        const chosen = targetFor(targets, zone);
        fc.pre(chosen !== undefined);
        const others = [...allTargetIds(targets)].filter((t) => t !== chosen);
        const eni = "eni-00000000000000001";
        const existing: SessionFacts[] = [
          ...(alreadyOnZoneTarget ? [{ sessionId: "tms-1", interfaceId: eni, targetId: chosen!, sessionNumber: 1, managedByFlowtap: true }] : []),
          ...others.slice(0, 1).map((t) => ({ sessionId: "tms-2", interfaceId: eni, targetId: t, sessionNumber: 2, managedByFlowtap: true })),
        ];
        const facts: SourceFacts = { kind: "instance", sourceId: "i-1", state: "running", tags: {}, availabilityZoneId: zone, interfaces: [{ id: eni, type: "interface", attachmentStatus: "attached" }] };
        const plan = planSource(facts, sessionsByInterface(existing), { ...baseSettings, targets }, new Set());
        for (const d of plan.interfaces) if (d.action === "create") expect(d.targetId).toBe(chosen);
        if (alreadyOnZoneTarget) expect(plan.removals.map((r) => r.targetId)).toEqual(others.slice(0, 1));
        else expect(plan.removals).toEqual([]);
      }),
    );
  });
});

describe("mirroring settings from the functions' environment", () => {
  const environment = { MIRROR_TARGETS: JSON.stringify({ default: TARGET }), MIRROR_FILTER_ID: "tmf-0a1b2c3d4e5f60001", EXCLUDE_TAG_KEY: "flowtap:exclude" };

  it("carries the include tag's value and the VPC and subnet allow-lists to the policy", () => {
    const s = settingsFromEnvironment({ ...environment, INCLUDE_TAG_KEY: "mirror", INCLUDE_TAG_VALUE: "yes", VPC_IDS: "vpc-0abc1234def567890, vpc-0fff1234def567890", SUBNET_IDS: "subnet-0aaaa1111bbbb2222" });
    expect(s).toMatchObject({ includeTagKey: "mirror", includeTagValue: "yes", vpcIds: ["vpc-0abc1234def567890", "vpc-0fff1234def567890"], subnetIds: ["subnet-0aaaa1111bbbb2222"] });
    const facts = (tags: Record<string, string>): SourceFacts => ({ kind: "instance", sourceId: "i-1", state: "running", tags, interfaces: [] });
    expect(sourceExclusion(facts({ mirror: "yes" }), s)).toBeUndefined();
    expect(sourceExclusion(facts({ mirror: "no" }), s)).toBe("not-included-by-tag");
  });

  it("reads empty values (Terraform's for a setting left out) as no include tag and no allow-lists", () => {
    expect(settingsFromEnvironment({ ...environment, INCLUDE_TAG_KEY: "", INCLUDE_TAG_VALUE: "", VPC_IDS: "", SUBNET_IDS: "" })).toMatchObject({ includeTagKey: undefined, includeTagValue: undefined, vpcIds: [], subnetIds: [] });
  });
});
