import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { createHash } from "node:crypto";
import { handler } from "../functions/flow-insights/ip-ranges";
import { IP_RANGES_URL, PublishedIpRanges } from "../functions/lib/flowlogs/published-ip-ranges";
import { captureOutput } from "./helpers/capture-output";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const s3 = mockClient(S3Client);
const sentActions = recordSentActions({ S3Client: s3 });
const RANGES = JSON.stringify({
  syncToken: "1732204800",
  createDate: "2026-11-21-16-00-00",
  prefixes: [{ ip_prefix: "52.216.0.0/15", region: "us-east-1", service: "S3", network_border_group: "us-east-1" }],
  ipv6_prefixes: [{ ipv6_prefix: "2600:1f18::/33", region: "us-east-1", service: "EC2", network_border_group: "us-east-1" }],
});
const md5 = (text: string) => createHash("md5").update(text).digest("hex");
/** An SNS notification from AWS's AmazonIpSpaceChanged topic, as Lambda receives it. */
const announcement = (message: Record<string, string>) => ({
  Records: [
    {
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged:5d5e2a4c-3c2e-4d7b-9a1e-0c5f5b7e8a11",
      Sns: {
        Type: "Notification",
        MessageId: "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        TopicArn: "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged",
        Subject: null,
        Message: JSON.stringify(message),
        Timestamp: "2026-11-21T16:00:00.000Z",
        SignatureVersion: "1",
        Signature: "EXAMPLE",
        SigningCertUrl: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
        UnsubscribeUrl: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        MessageAttributes: {},
      },
    },
  ],
});

let output: ReturnType<typeof captureOutput>;
beforeAll(() => Object.assign(process.env, { IP_RANGES_BUCKET: "flowtap-flow-insights-111111111111-us-east-1", IP_RANGES_KEY: "ip-ranges/ip-ranges.json", AWS_REGION: "us-east-1" }));
beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
  jest.spyOn(global, "fetch").mockImplementation(async (url) => {
    expect(String(url)).toBe(IP_RANGES_URL);
    return new Response(RANGES);
  });
  output = captureOutput();
});
afterEach(() => {
  output.restore();
  jest.restoreAllMocks();
});

describe("the ip-ranges.json refresh", () => {
  it("copies the file AWS announced, once its MD5 matches the announcement", async () => {
    await expect(handler(announcement({ "create-time": "2026-11-21-16-00-00", synctoken: "1732204800", md5: md5(RANGES), url: IP_RANGES_URL }))).resolves.toEqual({ syncToken: "1732204800", prefixes: 2 });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: "flowtap-flow-insights-111111111111-us-east-1", Key: "ip-ranges/ip-ranges.json" });
  });

  it("refuses a download whose MD5 is not the announced one, and a message pointing anywhere else", async () => {
    await expect(handler(announcement({ md5: "0".repeat(32), url: IP_RANGES_URL }))).rejects.toThrow(/not copied/);
    await expect(handler(announcement({ md5: md5(RANGES), url: "https://example.com/ip-ranges.json" }))).rejects.toThrow(/not https:\/\/ip-ranges\.amazonaws\.com/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("fetches at deploy time too, when invoked with no announcement", async () => {
    await expect(handler({})).resolves.toMatchObject({ prefixes: 2 });
  });
});

it("sends only the requests its role's permission table declares", () => {
  const declared = declaredActionsOf("flowtap-flow-insights-ip-ranges");
  expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
  expect(sentActions.size).toBeGreaterThan(0);
});

describe("AWS's ranges as a long-lived function keeps them (PublishedIpRanges)", () => {
  /** A fetch answering from a script of responses, recording each request's headers; a `null` step is a network failure. */
  function scriptedFetch(steps: (Response | null)[]) {
    const requests: { url: string; headers: Record<string, string> }[] = [];
    const fetch = jest.fn(async (url: string | URL | Request, init?: RequestInit) => {
      requests.push({ url: String(url), headers: { ...(init?.headers as Record<string, string>) } });
      const step = steps.shift();
      if (step === undefined) throw new Error("no more responses scripted");
      if (step === null) throw new TypeError("fetch failed");
      return step;
    });
    return { fetch: fetch as unknown as typeof globalThis.fetch, requests };
  }
  const ok = (body: string, etag = '"v1"') => new Response(body, { status: 200, headers: { etag } });

  it("fetches once, asks again after an hour with the ETag, and keeps its copy on 304", async () => {
    let now = 0;
    const { fetch, requests } = scriptedFetch([ok(RANGES), new Response(null, { status: 304 })]);
    const ranges = new PublishedIpRanges({ fetch, now: () => now });
    const [first, again] = await Promise.all([ranges.current(), ranges.current()]);
    expect(first?.prefixes).toEqual([expect.objectContaining({ ip_prefix: "52.216.0.0/15", service: "S3" })]);
    expect(again).toBe(first);
    now = 3_599_999;
    expect(await ranges.current()).toBe(first);
    now = 3_600_000;
    expect(await ranges.current()).toBe(first);
    expect(requests).toEqual([
      { url: IP_RANGES_URL, headers: {} },
      { url: IP_RANGES_URL, headers: { "If-None-Match": '"v1"' } },
    ]);
  });

  it("keeps the last good copy when AWS cannot be reached or answers something else, says why, and tries again after a minute", async () => {
    let now = 0;
    const failures: string[] = [];
    const { fetch, requests } = scriptedFetch([null, ok(RANGES), new Response("busy", { status: 503 }), ok('{"syncToken": 1}'), ok(RANGES.replace("S3", "DYNAMODB"), '"v2"')]);
    const ranges = new PublishedIpRanges({ fetch, now: () => now, onFailure: (reason) => failures.push(reason) });
    expect(await ranges.current()).toBeUndefined();
    now = 59_999;
    expect(await ranges.current()).toBeUndefined();
    now = 60_000;
    const good = await ranges.current();
    expect(good?.prefixes[0].service).toBe("S3");
    now += 3_600_000;
    expect(await ranges.current()).toBe(good);
    now += 60_000;
    expect(await ranges.current()).toBe(good);
    now += 60_000;
    expect((await ranges.current())?.prefixes[0].service).toBe("DYNAMODB");
    expect(failures).toEqual(["fetch failed", `${IP_RANGES_URL} answered 503`, expect.stringMatching(/^not AWS's ip-ranges.json: syncToken /)]);
    expect(requests).toHaveLength(5);
  });
});
