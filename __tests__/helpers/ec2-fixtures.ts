import type { DescribeInstancesCommandOutput, TrafficMirrorSession } from "@aws-sdk/client-ec2";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8")) as T;
}

/** AWS's documented state-change sample, for instance i-1234567890abcdef0 entering `running`. */
export const runningEvent = fixture<Record<string, unknown>>("ec2-instance-state-change-running.json");
export const attachEvent = fixture<Record<string, unknown>>("cloudtrail-attach-network-interface.json");
export const scheduledEvent = fixture<Record<string, unknown>>("scheduled-event.json");

export const INSTANCE_ID = "i-1234567890abcdef0";
export const PRIMARY_ENI = "eni-0a1b2c3d4e5f60001";
export const SECONDARY_ENI = "eni-0a9c4b60624c0e41d";
export const TARGET_ID = "tmt-0a1b2c3d4e5f60001";
export const FILTER_ID = "tmf-0a1b2c3d4e5f60001";

type Tags = Record<string, string>;

/** The CLI-shaped DescribeInstances fixture (one instance, two ENIs), with changes applied. */
export function describeInstances(change: { tags?: Tags; state?: string; instanceId?: string; interfaceTypes?: string[] } = {}): DescribeInstancesCommandOutput {
  const output = structuredClone(fixture<DescribeInstancesCommandOutput>("describe-instances-multi-eni.json"));
  const instance = output.Reservations![0].Instances![0];
  if (change.tags) instance.Tags = [...instance.Tags!, ...Object.entries(change.tags).map(([Key, Value]) => ({ Key, Value }))];
  if (change.state) instance.State = { Code: change.state === "terminated" ? 48 : 16, Name: change.state as "running" };
  if (change.instanceId) {
    instance.InstanceId = change.instanceId;
    // Give each instance its own ENI ids, derived from the instance id.
    instance.NetworkInterfaces!.forEach((eni, i) => {
      eni.NetworkInterfaceId = `eni-${change.instanceId!.slice(2, 15)}${i}`;
    });
  }
  change.interfaceTypes?.forEach((type, i) => {
    instance.NetworkInterfaces![i].InterfaceType = type as "interface";
  });
  return output;
}

/** A traffic mirror session as DescribeTrafficMirrorSessions returns it. */
export function session(interfaceId: string, sessionNumber: number, opts: { targetId?: string; flowtap?: boolean; id?: string } = {}): TrafficMirrorSession {
  return {
    TrafficMirrorSessionId: opts.id ?? `tms-${interfaceId.slice(4, 12)}${String(sessionNumber).padStart(9, "0")}`,
    TrafficMirrorTargetId: opts.targetId ?? TARGET_ID,
    TrafficMirrorFilterId: FILTER_ID,
    NetworkInterfaceId: interfaceId,
    OwnerId: "123456789012",
    PacketLength: 8947,
    SessionNumber: sessionNumber,
    VirtualNetworkId: 4567,
    Description: "",
    Tags: opts.flowtap === false ? [] : [{ Key: "ManagedBy", Value: "flowtap" }],
  };
}

/** An SDK v3 service error as the client throws it. */
export function awsError(code: string, message = code, fault: "client" | "server" = "client"): Error {
  return Object.assign(new Error(message), { name: code, $fault: fault, $metadata: { httpStatusCode: fault === "client" ? 400 : 503 } });
}

export const mirroringEnvironment = {
  MIRROR_TARGETS: JSON.stringify({ default: TARGET_ID }),
  MIRROR_FILTER_ID: FILTER_ID,
  EXCLUDE_TAG_KEY: "flowtap:exclude",
  EXCLUDE_TAG_VALUE: "true",
  EXCLUDE_EKS_NODES: "true",
  INCLUDE_TAG_KEY: "",
  INCLUDE_TAG_VALUE: "",
  VPC_IDS: "",
  SUBNET_IDS: "",
  SESSION_NUMBER: "1",
  VIRTUAL_NETWORK_ID: "",
  PACKET_LENGTH: "",
};
