import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand, EC2Client, type NetworkInterface } from "@aws-sdk/client-ec2";
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { mockClient } from "aws-sdk-client-mock";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { inventoryChangeOf, InventorySync } from "../functions/lib/flowlogs/inventory-sync";
import { holderAt, OwnershipStore } from "../functions/lib/flowlogs/ownership";
import { sampleEc2 } from "../samples/ec2-responder";
import { createInventoryTable, startDynalite } from "./helpers/dynalite";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, "fixtures", name), "utf8")) as Record<string, unknown>;
const ACCOUNT = "123456789010";
const sample = sampleEc2(40);
// The member account's ENIs, as its EC2 answers now; tests take some away to stand for deletions.
let present: NetworkInterface[] = [];
const ec2 = mockClient(EC2Client);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const sentActions = recordSentActions({ EC2Client: ec2, ResourceGroupsTaggingAPIClient: tagging });

let db: Awaited<ReturnType<typeof startDynalite>>;
let store: OwnershipStore;
let sync: InventorySync;
let tables = 0;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(() => db.stop());
beforeEach(async () => {
  present = [...sample.networkInterfaces];
  ec2.reset();
  tagging.reset();
  ec2.on(DescribeNetworkInterfacesCommand).callsFake((input) => ({
    NetworkInterfaces: present.filter((e) => sample.describeNetworkInterfaces(input.Filters ?? []).NetworkInterfaces.includes(e)),
  }));
  ec2.on(DescribeSecurityGroupsCommand).callsFake((input) => sample.describeSecurityGroups(input.Filters ?? []));
  ec2.on(DescribeInstancesCommand).callsFake((input) => sample.describeInstances(input.Filters ?? []));
  tagging.on(GetResourcesCommand).callsFake((input) => ({
    ResourceTagMappingList: (input.ResourceARNList as string[]).filter((arn) => arn.includes(":function:")).map((ResourceARN) => ({ ResourceARN, Tags: [{ Key: "app", Value: "Orders" }] })),
  }));
  const TableName = `inventory-${tables++}`;
  await createInventoryTable(db.client, TableName);
  store = new OwnershipStore(db.client, { tableName: TableName, retentionDays: 30 });
  sync = new InventorySync(store, () => ({ ec2: new EC2Client({ region: "us-east-1" }), tagging: new ResourceGroupsTaggingAPIClient({ region: "us-east-1" }) }));
});

const INSTANCE_ENI = sample.networkInterfaces[9];
const LAMBDA_ENI = sample.networkInterfaces[2];
const event = (detailType: string, detail: Record<string, unknown>, time = "2026-11-22T12:00:00Z", resources: string[] = []) => ({
  version: "0", id: "e", "detail-type": detailType, source: detailType === "Scheduled Event" ? "aws.events" : "aws.ec2", account: ACCOUNT, time, region: "us-east-1", resources, detail,
});
const cloudTrail = (eventName: string, eniId: string, time?: string, errorCode?: string) =>
  event("AWS API Call via CloudTrail", { eventSource: "ec2.amazonaws.com", eventName, requestParameters: { networkInterfaceId: eniId }, responseElements: null, ...(errorCode ? { errorCode } : {}) }, time);
const apply = async (e: unknown) => {
  const { change } = inventoryChangeOf(e);
  if (!change) throw new Error("no change");
  return sync.apply(change, [ACCOUNT], "us-east-1");
};
const holderOfAddress = async (address: string, time: string) => holderAt(address, await store.ownerships(address, Date.parse(time)), Date.parse(time), { vpcId: INSTANCE_ENI.VpcId });

describe("the flow-insights inventory function's events", () => {
  it("reads AWS's documented events: CloudTrail ENI calls, tag changes, instance state changes, the schedule", () => {
    expect(inventoryChangeOf(fixture("cloudtrail-attach-network-interface.json")).change).toEqual({
      kind: "interface", accountId: "123456789012", region: "us-east-1", eniId: "eni-0a9c4b60624c0e41d", at: Date.parse("2022-10-28T18:55:11Z"),
    });
    expect(inventoryChangeOf(fixture("tag-change-on-resource.json")).change).toMatchObject({ kind: "instance", instanceId: "i-0000000aaaaaaaaaa" });
    expect(inventoryChangeOf(fixture("ec2-instance-state-change-running.json")).change).toMatchObject({ kind: "instance", instanceId: "i-1234567890abcdef0" });
    expect(inventoryChangeOf(fixture("scheduled-event.json")).change).toMatchObject({ kind: "refresh" });
    expect(inventoryChangeOf(cloudTrail("DeleteNetworkInterface", "eni-1")).change).toMatchObject({ kind: "interface-deleted", eniId: "eni-1" });
    // CreateNetworkInterface names the new ENI only in its response.
    const created = event("AWS API Call via CloudTrail", {
      eventSource: "ec2.amazonaws.com",
      eventName: "CreateNetworkInterface",
      requestParameters: { subnetId: "subnet-0a1b2c3d4e5f6000a", description: "AWS Lambda VPC ENI-orders-api", groupSet: { items: [{ groupId: "sg-0a1b2c3d4e5f6app0" }] } },
      responseElements: { requestId: "7c1f0e6e", networkInterface: { networkInterfaceId: "eni-0c0ffee0c0ffee001", subnetId: "subnet-0a1b2c3d4e5f6000a", privateIpAddress: "10.0.0.99" } },
    });
    expect(inventoryChangeOf(created).change).toMatchObject({ kind: "interface", eniId: "eni-0c0ffee0c0ffee001" });
    expect(inventoryChangeOf(cloudTrail("CreateNetworkInterface", "eni-1", undefined, "Client.UnauthorizedOperation"))).toEqual({ ignored: "the call failed (Client.UnauthorizedOperation)" });
    // An Elastic IP names the ENI, or the instance it was associated with; a detachment names only its attachment (the refresh catches it).
    const associated = (requestParameters: Record<string, unknown>) => event("AWS API Call via CloudTrail", { eventSource: "ec2.amazonaws.com", eventName: "AssociateAddress", requestParameters, responseElements: { associationId: "eipassoc-0a1" } });
    expect(inventoryChangeOf(associated({ allocationId: "eipalloc-0a1", networkInterfaceId: "eni-1" })).change).toMatchObject({ kind: "interface", eniId: "eni-1" });
    expect(inventoryChangeOf(associated({ allocationId: "eipalloc-0a1", instanceId: "i-1" })).change).toMatchObject({ kind: "instance", instanceId: "i-1" });
    const detached = event("AWS API Call via CloudTrail", { eventSource: "ec2.amazonaws.com", eventName: "DetachNetworkInterface", requestParameters: { attachmentId: "eni-attach-0a1", force: false }, responseElements: null });
    expect(inventoryChangeOf(detached)).toEqual({ ignored: "not an ENI or security group call" });
    // A security group's rules, by the group id each call names where it names it.
    const groupCall = (eventName: string, requestParameters: Record<string, unknown>) => event("AWS API Call via CloudTrail", { eventSource: "ec2.amazonaws.com", eventName, requestParameters, responseElements: { _return: true } });
    expect(inventoryChangeOf(groupCall("AuthorizeSecurityGroupIngress", { groupId: "sg-1", ipPermissions: { items: [] } })).change).toMatchObject({ kind: "security-group", groupId: "sg-1" });
    expect(inventoryChangeOf(groupCall("ModifySecurityGroupRules", { ModifySecurityGroupRulesRequest: { GroupId: "sg-2", SecurityGroupRule: { SecurityGroupRuleId: "sgr-1" } } })).change).toMatchObject({ kind: "security-group", groupId: "sg-2" });
    expect(inventoryChangeOf(groupCall("ModifyInstanceAttribute", { instanceId: "i-1", groupSet: { items: [{ groupId: "sg-1" }] } })).change).toMatchObject({ kind: "instance", instanceId: "i-1" });
    expect(inventoryChangeOf(fixture("cloudwatch-alarm-state-change-nat-ok.json")).change).toBeUndefined();
  });

  it("records an ENI a call created or attached, with its owning resource's tags, and ends its ownerships when it is deleted", async () => {
    await apply(cloudTrail("AttachNetworkInterface", INSTANCE_ENI.NetworkInterfaceId!, "2026-11-22T12:00:00Z"));
    expect(await holderOfAddress(INSTANCE_ENI.PrivateIpAddress!, "2026-11-22T12:05:00Z")).toMatchObject({ type: "ec2:instance", tags: { app: "Storefront", Name: "node-0" } });
    await apply(cloudTrail("CreateNetworkInterface", LAMBDA_ENI.NetworkInterfaceId!, "2026-11-22T12:00:00Z"));
    expect(await holderOfAddress(LAMBDA_ENI.PrivateIpAddress!, "2026-11-22T12:05:00Z")).toMatchObject({ type: "lambda:function", tags: { app: "Orders" } });
    expect(await store.securityGroup("sg-0a1b2c3d4e5f6app0")).toMatchObject({ GroupName: "app" });

    await apply(cloudTrail("DeleteNetworkInterface", LAMBDA_ENI.NetworkInterfaceId!, "2026-11-22T13:00:00Z"));
    expect(await holderOfAddress(LAMBDA_ENI.PrivateIpAddress!, "2026-11-22T12:59:00Z")).toMatchObject({ type: "lambda:function" });
    expect(await holderOfAddress(LAMBDA_ENI.PrivateIpAddress!, "2026-11-22T13:01:00Z")).toBeUndefined();
  });

  it("follows the addresses an ENI is given and loses after launch: secondary private IPs (as EKS assigns pods'), IPv6, Elastic IPs", async () => {
    const pod = "10.0.200.7";
    const ipv6 = "2600:1f18:abcd:1200::7";
    const elastic = "203.0.113.10";
    // EC2's answer for the ENI as each call leaves it.
    let now: NetworkInterface = INSTANCE_ENI;
    ec2.on(DescribeNetworkInterfacesCommand).callsFake(() => ({ NetworkInterfaces: [now] }));
    const call = (eventName: string, time: string, requestParameters: Record<string, unknown>) =>
      event("AWS API Call via CloudTrail", { eventSource: "ec2.amazonaws.com", eventName, requestParameters, responseElements: { requestId: "r", _return: true } }, time);
    const eniId = INSTANCE_ENI.NetworkInterfaceId!;

    await apply(cloudTrail("AttachNetworkInterface", eniId, "2026-11-22T12:00:00Z"));
    now = { ...INSTANCE_ENI, PrivateIpAddresses: [...INSTANCE_ENI.PrivateIpAddresses!, { PrivateIpAddress: pod, Primary: false }], Ipv6Addresses: [{ Ipv6Address: ipv6 }] };
    await apply(call("AssignPrivateIpAddresses", "2026-11-22T12:10:00Z", { networkInterfaceId: eniId, secondaryPrivateIpAddressCount: 1 }));
    await apply(call("AssignIpv6Addresses", "2026-11-22T12:10:00Z", { networkInterfaceId: eniId, ipv6AddressCount: 1 }));
    now = { ...now, Association: { PublicIp: elastic, AllocationId: "eipalloc-0a1" } };
    // Associated with the instance, the Elastic IP call names no ENI.
    await apply(call("AssociateAddress", "2026-11-22T12:20:00Z", { allocationId: "eipalloc-0a1", instanceId: INSTANCE_ENI.Attachment!.InstanceId, allowReassociation: false }));
    now = { ...INSTANCE_ENI, Association: now.Association };
    await apply(call("UnassignPrivateIpAddresses", "2026-11-22T12:30:00Z", { networkInterfaceId: eniId, privateIpAddressesSet: { items: [{ privateIpAddress: pod }] } }));

    const holdsAt = async (address: string, time: string) => (await holderOfAddress(address, time))?.interfaceId;
    expect(await holdsAt(pod, "2026-11-22T12:05:00Z")).toBeUndefined();
    expect(await holdsAt(pod, "2026-11-22T12:15:00Z")).toBe(eniId);
    expect(await holdsAt(ipv6, "2026-11-22T12:15:00Z")).toBe(eniId);
    expect(await holdsAt(elastic, "2026-11-22T12:15:00Z")).toBeUndefined();
    expect(await holdsAt(elastic, "2026-11-22T12:25:00Z")).toBe(eniId);
    expect(await holdsAt(pod, "2026-11-22T12:35:00Z")).toBeUndefined();
    expect(await holdsAt(ipv6, "2026-11-22T12:35:00Z")).toBeUndefined();
  });

  it("owns the prefixes delegated to an ENI as such, for the addresses handed out from them (EKS pods', in prefix mode)", async () => {
    const node: NetworkInterface = { ...INSTANCE_ENI, Ipv4Prefixes: [{ Ipv4Prefix: "10.0.3.16/28" }], Ipv6Prefixes: [{ Ipv6Prefix: "2600:1f18:abcd:1200:8a74::/80" }] };
    ec2.on(DescribeNetworkInterfacesCommand).callsFake(() => ({ NetworkInterfaces: [node] }));
    await apply(cloudTrail("AssignPrivateIpAddresses", node.NetworkInterfaceId!, "2026-11-22T12:00:00Z"));
    for (const prefix of ["10.0.3.16/28", "2600:1f18:abcd:1200:8a74::/80"]) {
      expect(await holderOfAddress(prefix, "2026-11-22T12:05:00Z")).toMatchObject({ interfaceId: node.NetworkInterfaceId, type: "ec2:instance" });
    }
  });

  it("keeps a security group's rules as the calls that change them leave them", async () => {
    const group = sample.securityGroups[0];
    const opened = { ...group, IpPermissions: [...(group.IpPermissions ?? []), { IpProtocol: "tcp", FromPort: 9443, ToPort: 9443, IpRanges: [{ CidrIp: "10.9.0.0/16" }] }] };
    ec2.on(DescribeSecurityGroupsCommand).callsFake(() => ({ SecurityGroups: [opened] }));
    const authorized = event("AWS API Call via CloudTrail", { eventSource: "ec2.amazonaws.com", eventName: "AuthorizeSecurityGroupIngress", requestParameters: { groupId: group.GroupId }, responseElements: { _return: true } });
    expect(await apply(authorized)).toBe(1);
    expect((await store.securityGroup(group.GroupId!))?.IpPermissions).toContainEqual(expect.objectContaining({ FromPort: 9443, IpRanges: [{ CidrIp: "10.9.0.0/16" }] }));
  });

  it("follows an instance: its ENIs when it runs, their release when it terminates", async () => {
    const instanceId = INSTANCE_ENI.Attachment!.InstanceId!;
    await apply(event("EC2 Instance State-change Notification", { "instance-id": instanceId, state: "running" }, "2026-11-22T12:00:00Z"));
    expect(await store.enisOf(ACCOUNT, "us-east-1")).toEqual([{ eniId: INSTANCE_ENI.NetworkInterfaceId, instanceId }]);
    await apply(event("EC2 Instance State-change Notification", { "instance-id": instanceId, state: "terminated" }, "2026-11-22T14:00:00Z"));
    expect(await holderOfAddress(INSTANCE_ENI.PrivateIpAddress!, "2026-11-22T13:00:00Z")).toMatchObject({ interfaceId: INSTANCE_ENI.NetworkInterfaceId });
    expect(await holderOfAddress(INSTANCE_ENI.PrivateIpAddress!, "2026-11-22T14:30:00Z")).toBeUndefined();
  });

  it("refreshes every ENI of every account on schedule, and releases the ones that went away unannounced", async () => {
    expect(await apply(event("Scheduled Event", {}, "2026-11-22T12:00:00Z"))).toBe(40);
    present = present.filter((e) => e !== LAMBDA_ENI);
    expect(await apply(event("Scheduled Event", {}, "2026-11-22T18:00:00Z"))).toBe(40);
    expect(await holderOfAddress(LAMBDA_ENI.PrivateIpAddress!, "2026-11-22T17:00:00Z")).toMatchObject({ type: "lambda:function" });
    expect(await holderOfAddress(LAMBDA_ENI.PrivateIpAddress!, "2026-11-22T19:00:00Z")).toBeUndefined();
    expect(await store.enisOf(ACCOUNT, "us-east-1")).toHaveLength(39);
  });

  it("releases an ENI the event names but EC2 no longer has", async () => {
    await apply(cloudTrail("AttachNetworkInterface", INSTANCE_ENI.NetworkInterfaceId!, "2026-11-22T12:00:00Z"));
    present = [];
    await apply(cloudTrail("ModifyNetworkInterfaceAttribute", INSTANCE_ENI.NetworkInterfaceId!, "2026-11-22T12:30:00Z"));
    expect(await holderOfAddress(INSTANCE_ENI.PrivateIpAddress!, "2026-11-22T12:45:00Z")).toBeUndefined();
  });
});

it("sends only the requests its role's permission table declares", () => {
  const declared = declaredActionsOf({ stack: "flow-insights", rolePath: "member/inventory-role" });
  expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
  expect(sentActions.size).toBeGreaterThan(0);
});
