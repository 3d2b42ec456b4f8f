import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type Filter,
  type NetworkInterface,
  type SecurityGroup,
} from "@aws-sdk/client-ec2";
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import pLimit from "p-limit";
import { z } from "zod";
import { withRetry } from "../retry";
import { addressesOf, delegatedPrefixesOf, holderOf } from "./inventory";
import { INTERFACE_CALLS, SECURITY_GROUP_CALLS } from "./inventory-calls";
import type { OwnershipStore } from "./ownership";

/** Store writes in flight at once: a refresh records thousands of ENIs, each a few writes. */
const WRITE_CONCURRENCY = 16;

/** The clients of one member account and region, through its inventory role. */
export interface MemberClients {
  readonly ec2: EC2Client;
  readonly tagging: ResourceGroupsTaggingAPIClient;
}

/** What changed, as the events forwarded to the central bus say it. */
export type InventoryChange =
  | { readonly kind: "interface"; readonly accountId: string; readonly region: string; readonly eniId: string; readonly at: number }
  | { readonly kind: "interface-deleted"; readonly accountId: string; readonly region: string; readonly eniId: string; readonly at: number }
  | { readonly kind: "instance"; readonly accountId: string; readonly region: string; readonly instanceId: string; readonly at: number }
  | { readonly kind: "instance-terminated"; readonly accountId: string; readonly region: string; readonly instanceId: string; readonly at: number }
  | { readonly kind: "security-group"; readonly accountId: string; readonly region: string; readonly groupId: string; readonly at: number }
  | { readonly kind: "refresh"; readonly at: number };

const envelope = z.object({ "detail-type": z.string(), source: z.string(), account: z.string(), region: z.string(), time: z.string(), detail: z.record(z.string(), z.unknown()).default({}), resources: z.array(z.string()).default([]) });
const cloudTrail = z.object({
  eventName: z.string(),
  errorCode: z.string().optional(),
  requestParameters: z
    .object({
      networkInterfaceId: z.string().optional(),
      instanceId: z.string().optional(),
      groupId: z.string().optional(),
      ModifySecurityGroupRulesRequest: z.object({ GroupId: z.string().optional() }).passthrough().optional(),
    })
    .passthrough()
    .nullish(),
  responseElements: z.object({ networkInterface: z.object({ networkInterfaceId: z.string() }).passthrough().optional() }).passthrough().nullish(),
});
const ENI_CALLS = new Set<string>(INTERFACE_CALLS);
const GROUP_CALLS = new Set<string>(SECURITY_GROUP_CALLS);

/**
 * Reads an event the inventory function receives: a CloudTrail call that changes an ENI or a
 * security group (INTERFACE_CALLS, SECURITY_GROUP_CALLS), a tag change on an instance or ENI, an
 * instance state change, or the schedule's full refresh. Anything else (a failed call, an event
 * of another kind) is undefined, with why.
 */
export function inventoryChangeOf(event: unknown): { change?: InventoryChange; ignored?: string } {
  const parsed = envelope.safeParse(event);
  if (!parsed.success) return { ignored: "not an EventBridge event" };
  const { account: accountId, region, detail, resources } = parsed.data;
  const at = Date.parse(parsed.data.time);
  const type = parsed.data["detail-type"];
  if (type === "Scheduled Event") return { change: { kind: "refresh", at } };
  if (type === "AWS API Call via CloudTrail") {
    const call = cloudTrail.safeParse(detail);
    if (!call.success || !(ENI_CALLS.has(call.data.eventName) || GROUP_CALLS.has(call.data.eventName))) return { ignored: "not an ENI or security group call" };
    if (call.data.errorCode) return { ignored: `the call failed (${call.data.errorCode})` };
    const request = call.data.requestParameters;
    if (GROUP_CALLS.has(call.data.eventName)) {
      const groupId = request?.groupId ?? request?.ModifySecurityGroupRulesRequest?.GroupId;
      return groupId ? { change: { kind: "security-group", accountId, region, groupId, at } } : { ignored: "the call names no security group by id" };
    }
    const eniId = request?.networkInterfaceId ?? call.data.responseElements?.networkInterface?.networkInterfaceId;
    // An Elastic IP associated with an instance (its one ENI), and an instance's attributes (its groups), name the instance.
    const instanceId = request?.instanceId;
    if (!eniId && instanceId) return { change: { kind: "instance", accountId, region, instanceId, at } };
    if (!eniId) return { ignored: "the call names no ENI" };
    return { change: { kind: call.data.eventName === "DeleteNetworkInterface" ? "interface-deleted" : "interface", accountId, region, eniId, at } };
  }
  if (type === "EC2 Instance State-change Notification") {
    const instanceId = detail["instance-id"];
    const state = detail.state;
    if (typeof instanceId !== "string") return { ignored: "no instance id" };
    if (state === "running") return { change: { kind: "instance", accountId, region, instanceId, at } };
    if (state === "terminated") return { change: { kind: "instance-terminated", accountId, region, instanceId, at } };
    return { ignored: `instance state ${String(state)}` };
  }
  if (type === "Tag Change on Resource") {
    const arn = resources[0] ?? "";
    const id = arn.split("/").pop() ?? "";
    if (detail["resource-type"] === "instance" && id.startsWith("i-")) return { change: { kind: "instance", accountId, region, instanceId: id, at } };
    if (detail["resource-type"] === "network-interface" && id.startsWith("eni-")) return { change: { kind: "interface", accountId, region, eniId: id, at } };
    return { ignored: `tags of a ${String(detail["resource-type"])}` };
  }
  return { ignored: `event ${type} from ${parsed.data.source}` };
}

async function allPages<T>(page: (token: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const found: T[] = [];
  let token: string | undefined;
  do {
    const { items, next } = await withRetry(() => page(token));
    found.push(...items);
    token = next;
  } while (token);
  return found;
}

const describeInterfaces = (ec2: EC2Client, filters: Filter[]) =>
  allPages(async (NextToken) => {
    const page = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: filters.length > 0 ? filters : undefined, NextToken, MaxResults: 1000 }));
    return { items: page.NetworkInterfaces ?? [], next: page.NextToken };
  });

/**
 * Keeps the ownership store in step with member accounts: each change is looked up through the
 * account's inventory role (the event says what changed, EC2 says what it is now) and recorded
 * at the event's time; a refresh describes every ENI of every account and releases those gone.
 */
export class InventorySync {
  constructor(
    private readonly store: OwnershipStore,
    private readonly clientsOf: (accountId: string, region: string) => MemberClients,
  ) {}

  /** Records a change; answers how many ENIs it recorded or released (for a security group's change, groups). */
  async apply(change: InventoryChange, accounts: readonly string[], region: string): Promise<number> {
    switch (change.kind) {
      case "interface": {
        const { ec2, tagging } = this.clientsOf(change.accountId, change.region);
        const enis = await describeInterfaces(ec2, [{ Name: "network-interface-id", Values: [change.eniId] }]);
        // An ENI described as gone is one that went away before we looked.
        if (enis.length === 0) return this.release([change.eniId], change.at);
        return this.observe(enis, change.accountId, change.region, change.at, ec2, tagging);
      }
      case "interface-deleted":
        return this.release([change.eniId], change.at);
      case "instance": {
        const { ec2, tagging } = this.clientsOf(change.accountId, change.region);
        const enis = await describeInterfaces(ec2, [{ Name: "attachment.instance-id", Values: [change.instanceId] }]);
        return this.observe(enis, change.accountId, change.region, change.at, ec2, tagging);
      }
      case "instance-terminated": {
        const known = await this.store.enisOf(change.accountId, change.region);
        return this.release(known.filter((e) => e.instanceId === change.instanceId).map((e) => e.eniId), change.at);
      }
      case "security-group":
        return this.recordGroups(this.clientsOf(change.accountId, change.region).ec2, [change.groupId]);
      case "refresh": {
        let recorded = 0;
        for (const accountId of accounts) recorded += await this.refresh(accountId, region, change.at);
        return recorded;
      }
    }
  }

  /** Describes every ENI of an account and region; the ones the store knows that are gone are released. */
  private async refresh(accountId: string, region: string, at: number): Promise<number> {
    const { ec2, tagging } = this.clientsOf(accountId, region);
    const enis = await describeInterfaces(ec2, []);
    const present = new Set(enis.flatMap((e) => e.NetworkInterfaceId ?? []));
    const gone = (await this.store.enisOf(accountId, region)).filter((e) => !present.has(e.eniId)).map((e) => e.eniId);
    return (await this.observe(enis, accountId, region, at, ec2, tagging)) + (await this.release(gone, at));
  }

  /** Describes security groups, 200 a call, and keeps their rules; a group gone is left as last seen (no ENI holds it any more). */
  private async recordGroups(ec2: EC2Client, groupIds: readonly string[]): Promise<number> {
    let recorded = 0;
    for (let i = 0; i < groupIds.length; i += 200) {
      const batch = groupIds.slice(i, i + 200);
      const groups: SecurityGroup[] = await allPages(async (NextToken) => {
        const page = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "group-id", Values: batch }], NextToken, MaxResults: 1000 }));
        return { items: page.SecurityGroups ?? [], next: page.NextToken };
      });
      const limit = pLimit(WRITE_CONCURRENCY);
      await Promise.all(groups.map((group) => limit(() => this.store.putSecurityGroup(group))));
      recorded += groups.length;
    }
    return recorded;
  }

  private async release(eniIds: readonly string[], at: number): Promise<number> {
    const limit = pLimit(WRITE_CONCURRENCY);
    await Promise.all(eniIds.map((eniId) => limit(() => this.store.release(eniId, at))));
    return eniIds.length;
  }

  private async observe(enis: readonly NetworkInterface[], accountId: string, region: string, at: number, ec2: EC2Client, tagging: MemberClients["tagging"]): Promise<number> {
    if (enis.length === 0) return 0;
    const instanceIds = [...new Set(enis.flatMap((e) => (e.Attachment?.InstanceId && !e.RequesterManaged ? [e.Attachment.InstanceId] : [])))];
    const instanceTags = new Map<string, Record<string, string>>();
    for (let i = 0; i < instanceIds.length; i += 200) {
      const batch = instanceIds.slice(i, i + 200);
      const instances = await allPages(async (NextToken) => {
        const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: batch }], NextToken, MaxResults: 1000 }));
        return { items: (page.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: page.NextToken };
      });
      for (const instance of instances) if (instance.InstanceId) instanceTags.set(instance.InstanceId, Object.fromEntries((instance.Tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? ""]] : []))));
    }
    const holders = enis.flatMap((eni) => {
      const holder = holderOf(eni, { instanceTags });
      return holder ? [{ eni, holder }] : [];
    });
    // The owning resource's tags for ENIs of other resources (functions, load balancers, caches), 100 ARNs a call.
    const arns = [...new Set(holders.flatMap(({ holder }) => (holder.arn && holder.type !== "ec2:instance" ? [holder.arn] : [])))];
    const resourceTags = new Map<string, Record<string, string>>();
    for (let i = 0; i < arns.length; i += 100) {
      const batch = arns.slice(i, i + 100);
      const mappings = await allPages(async (PaginationToken) => {
        const page = await tagging.send(new GetResourcesCommand({ ResourceARNList: batch, PaginationToken }));
        return { items: page.ResourceTagMappingList ?? [], next: page.PaginationToken || undefined };
      });
      for (const m of mappings) if (m.ResourceARN) resourceTags.set(m.ResourceARN, Object.fromEntries((m.Tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? ""]] : []))));
    }
    await this.recordGroups(ec2, [...new Set(holders.flatMap(({ holder }) => holder.securityGroupIds))]);
    const limit = pLimit(WRITE_CONCURRENCY);
    await Promise.all(
      holders.map(({ eni, holder }) => {
        const tags = holder.arn ? resourceTags.get(holder.arn) : undefined;
        // Prefixes delegated to the ENI are owned as `network/length`: their addresses (EKS pods', in prefix mode) are looked up by them.
        const held = [...addressesOf(eni), ...delegatedPrefixesOf(eni)];
        return limit(() => this.store.observe(tags ? { ...holder, tags } : holder, held, { accountId, region, instanceId: eni.Attachment?.InstanceId }, at));
      }),
    );
    return holders.length;
  }
}
