import { Logger } from "@aws-lambda-powertools/logger";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { z } from "zod";
import { IP_RANGES_URL, parseIpRanges } from "../lib/flowlogs/published-ip-ranges";
import { withRetry } from "../lib/retry";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
const s3 = new S3Client({ maxAttempts: 1 });
const logger = new Logger();

/** The message AWS's AmazonIpSpaceChanged topic publishes. */
const announcement = z.object({ "create-time": z.string().optional(), synctoken: z.string().optional(), md5: z.string().regex(/^[0-9a-f]{32}$/), url: z.string() });

/** What an invocation was told: an SNS notification from AmazonIpSpaceChanged, or anything else (deploy time): fetch anyway. */
function expectedMd5(event: unknown): string | undefined {
  const message = (event as { Records?: { Sns?: { Message?: string } }[] }).Records?.[0]?.Sns?.Message;
  if (message === undefined) return undefined;
  const parsed = announcement.safeParse(JSON.parse(message));
  if (!parsed.success) throw new Error(`not an AmazonIpSpaceChanged message: ${parsed.error.issues[0]?.message}`);
  if (parsed.data.url !== IP_RANGES_URL) throw new Error(`the message points at ${parsed.data.url}, not ${IP_RANGES_URL}`);
  return parsed.data.md5;
}

/**
 * Copies AWS's ip-ranges.json to the bucket the enrichment function reads it from, when AWS
 * announces a change (and once at deploy): the copy is checked against the announced MD5 and
 * parsed before it replaces the last one, so a bad download never reaches enrichment.
 */
export const handler = async (event: unknown): Promise<{ syncToken: string; prefixes: number }> => {
  const md5 = expectedMd5(event);
  const response = await fetch(IP_RANGES_URL);
  if (!response.ok) throw new Error(`${IP_RANGES_URL} answered ${response.status}`);
  const body = Buffer.from(await response.arrayBuffer());
  const actual = createHash("md5").update(body).digest("hex");
  if (md5 !== undefined && actual !== md5) throw new Error(`ip-ranges.json has MD5 ${actual}, the announcement said ${md5}; not copied`);
  const parsed = parseIpRanges(body.toString("utf8"));
  await withRetry(() =>
    s3.send(new PutObjectCommand({ Bucket: process.env.IP_RANGES_BUCKET, Key: process.env.IP_RANGES_KEY, Body: body, ContentType: "application/json" })),
  );
  logger.info("ip-ranges.json copied", { syncToken: parsed.syncToken, createDate: parsed.createDate, prefixes: parsed.prefixes.length + parsed.ipv6_prefixes.length });
  return { syncToken: parsed.syncToken, prefixes: parsed.prefixes.length + parsed.ipv6_prefixes.length };
};
