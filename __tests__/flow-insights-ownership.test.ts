import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Holder } from "../functions/lib/flowlogs/inventory";
import { holderAt, MEMBER_ACCOUNTS_KEY, OwnershipStore } from "../functions/lib/flowlogs/ownership";
import { createInventoryTable, startDynalite } from "./helpers/dynalite";

let db: Awaited<ReturnType<typeof startDynalite>>;
let store: OwnershipStore;
let tables = 0;
let tableName = "";

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(() => db.stop());
beforeEach(async () => {
  const TableName = `inventory-${tables++}`;
  tableName = TableName;
  await createInventoryTable(db.client, TableName);
  store = new OwnershipStore(db.client, { tableName: TableName, retentionDays: 30 });
});

const holder = (eni: string, vpcId = "vpc-0a1", accountId = "222222222222", type: Holder["type"] = "ec2:instance"): Holder => ({
  type, interfaceId: eni, vpcId, accountId, subnetId: "subnet-0a1", securityGroupIds: ["sg-0a1"], availabilityZone: "us-east-1a", region: "us-east-1", tags: { app: eni },
});
const context = { accountId: "222222222222", region: "us-east-1" };
const T = (minutes: number) => Date.UTC(2026, 10, 22, 12, minutes);
const owner = async (address: string, at: number, logged: { vpcId?: string; accountId?: string } = { vpcId: "vpc-0a1" }) =>
  holderAt(address, await store.ownerships(address, at), at, logged)?.interfaceId;

describe("the inventory's ownership time ranges", () => {
  it("attributes an address to what held it at the flow's time, however late the record comes", async () => {
    await store.observe(holder("eni-a"), ["10.0.0.5"], context, T(0));
    await store.release("eni-a", T(10));
    await store.observe(holder("eni-b"), ["10.0.0.5"], context, T(20));
    expect(await owner("10.0.0.5", T(5))).toBe("eni-a");
    expect(await owner("10.0.0.5", T(15))).toBeUndefined();
    expect(await owner("10.0.0.5", T(25))).toBe("eni-b");
    expect(await owner("10.0.0.5", T(-5))).toBeUndefined();
  });

  it("ends the ownership of an address an ENI no longer holds, and keeps the start of the ones it still holds", async () => {
    await store.observe(holder("eni-a"), ["10.0.0.5", "10.0.0.6"], context, T(0));
    await store.observe(holder("eni-a"), ["10.0.0.6"], context, T(10));
    expect(await owner("10.0.0.5", T(5))).toBe("eni-a");
    expect(await owner("10.0.0.5", T(11))).toBeUndefined();
    expect((await store.ownerships("10.0.0.6", T(11))).map((o) => o.from)).toEqual([T(0)]);
  });

  it("tells apart the same private address in two VPCs by the VPC, then the account, of the ENI that logged the flow", async () => {
    await store.observe(holder("eni-a", "vpc-0a1", "222222222222"), ["10.0.0.5"], context, T(0));
    await store.observe(holder("eni-c", "vpc-0c3", "333333333333"), ["10.0.0.5"], { accountId: "333333333333", region: "us-east-1" }, T(0));
    expect(await owner("10.0.0.5", T(1), { vpcId: "vpc-0c3" })).toBe("eni-c");
    expect(await owner("10.0.0.5", T(1), { accountId: "222222222222" })).toBe("eni-a");
    // Neither says which: no guess.
    expect(await owner("10.0.0.5", T(1), {})).toBeUndefined();
  });

  it("resolves an address other VPCs of the account hold by the same rule as the CLI: the only one in the region where the flow was logged, else none", async () => {
    const inRegion = (eni: string, vpcId: string, region: string): Holder => ({ ...holder(eni, vpcId), availabilityZone: `${region}a`, region });
    // Each region's default VPC is 172.31.0.0/16: eu-west-1's claim began last.
    await store.observe(inRegion("eni-use1", "vpc-0use1", "us-east-1"), ["172.31.0.5"], context, T(0));
    await store.observe(inRegion("eni-euw1", "vpc-0euw1", "eu-west-1"), ["172.31.0.5"], { ...context, region: "eu-west-1" }, T(1));
    const loggedIn = (region: string) => ({ vpcId: "vpc-0peer", accountId: "222222222222", region });
    expect(await owner("172.31.0.5", T(2), loggedIn("us-east-1"))).toBe("eni-use1");
    expect(await owner("172.31.0.5", T(2), loggedIn("eu-west-1"))).toBe("eni-euw1");
    // Two in the account and neither in the region: which one cannot be told.
    expect(await owner("172.31.0.5", T(2), loggedIn("ap-south-1"))).toBeUndefined();
  });

  it("gives a reassigned address to its latest holder while the earlier one's end is not yet seen: privately per VPC, publicly anywhere", async () => {
    await store.observe(holder("eni-a"), ["10.0.0.5", "203.0.113.7"], context, T(0));
    await store.observe(holder("eni-b"), ["10.0.0.5"], context, T(10));
    await store.observe(holder("eni-c", "vpc-0c3"), ["203.0.113.7"], context, T(10));
    expect(await owner("10.0.0.5", T(5))).toBe("eni-a");
    expect(await owner("10.0.0.5", T(15))).toBe("eni-b");
    // An Elastic IP moved to another VPC's ENI: logged in the first VPC, it is still the new holder's.
    expect(await owner("203.0.113.7", T(15), { vpcId: "vpc-0a1" })).toBe("eni-c");
  });

  it("ignores a sighting older than the last one, and a release of what it does not know, so redelivered and reordered events change nothing", async () => {
    await store.observe(holder("eni-a"), ["10.0.0.5"], context, T(10));
    await store.observe(holder("eni-a"), ["10.0.0.9"], context, T(5));
    expect(await owner("10.0.0.9", T(11))).toBeUndefined();
    await store.release("eni-zzz", T(12));
    await store.release("eni-a", T(20));
    await store.release("eni-a", T(30));
    expect((await store.ownerships("10.0.0.5", T(40)))[0].to).toBe(T(20));
    // A sighting from before the release, arriving after it, does not bring the ENI back.
    await store.observe(holder("eni-a"), ["10.0.0.5"], context, T(15));
    expect(await owner("10.0.0.5", T(40))).toBeUndefined();
  });

  it("takes concurrent sightings of one ENI without losing either (optimistic locking)", async () => {
    await Promise.all([
      store.observe(holder("eni-a"), ["10.0.0.5"], context, T(1)),
      store.observe(holder("eni-a"), ["10.0.0.5", "10.0.0.6"], context, T(2)),
      store.observe(holder("eni-a"), ["10.0.0.5"], context, T(3)),
    ]);
    expect(await owner("10.0.0.5", T(4))).toBe("eni-a");
    expect(await store.enisOf("222222222222", "us-east-1")).toEqual([{ eniId: "eni-a" }]);
  });

  it("lists an account's ENIs per region until they are released", async () => {
    await store.observe(holder("eni-a"), ["10.0.0.5"], { ...context, instanceId: "i-0a1" }, T(0));
    await store.observe(holder("eni-b"), ["10.0.0.6"], context, T(0));
    expect(await store.enisOf("222222222222", "us-east-1")).toEqual([{ eniId: "eni-a", instanceId: "i-0a1" }, { eniId: "eni-b" }]);
    await store.release("eni-a", T(1));
    expect(await store.enisOf("222222222222", "us-east-1")).toEqual([{ eniId: "eni-b" }]);
    expect(await store.enisOf("222222222222", "eu-west-1")).toEqual([]);
  });

  it("reads the member accounts from the item Terraform writes, and none when it is missing", async () => {
    expect(await store.memberAccounts()).toEqual([]);
    await db.client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: MEMBER_ACCOUNTS_KEY.pk }, sk: { S: MEMBER_ACCOUNTS_KEY.sk }, accounts: { SS: ["333333333333", "222222222222"] } } }));
    expect(await store.memberAccounts()).toEqual(["222222222222", "333333333333"]);
  });
});
