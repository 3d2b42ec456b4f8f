import type { EC2Client } from "@aws-sdk/client-ec2";
import { SingleBar } from "cli-progress";
import Table from "cli-table3";
import { randomUUID } from "node:crypto";
import { sweepInstances } from "../functions/ec2-mirroring/mirror-instances";
import { resetCaches } from "../functions/lib/mirroring/ec2-sessions";
import { summarize, type MirrorOutcome, type Outcome } from "../functions/lib/mirroring/outcomes";
import type { MirroringSettings } from "../functions/lib/mirroring/settings";

export interface BackfillOptions {
  readonly settings: MirroringSettings;
  readonly dryRun: boolean;
  /** Instances worked on at once. */
  readonly concurrency: number;
}

export interface BackfillIo {
  readonly ec2: EC2Client;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The rows of the closing table, in the order a reader scans them. */
const SUMMARY_ROWS: readonly { label: string; outcomes: readonly Outcome[] }[] = [
  { label: "created", outcomes: ["created", "would-create"] },
  { label: "already mirrored", outcomes: ["already-mirrored"] },
  { label: "excluded", outcomes: ["excluded"] },
  { label: "unsupported", outcomes: ["unsupported", "session-limit"] },
  { label: "failed", outcomes: ["failed", "target-unavailable", "source-gone"] },
];

/**
 * Mirrors every running instance that has none yet, with the handler's own policy code.
 * Creates only: removing sessions is the reconciler's job. Returns the process exit status.
 */
export async function runBackfill(options: BackfillOptions, io: BackfillIo): Promise<number> {
  resetCaches();
  const bar = io.stderr.isTTY
    ? new SingleBar({ stream: io.stderr, format: "instances {bar} {value}/{total} | {eta_formatted} left", hideCursor: true })
    : undefined;
  bar?.start(0, 0);
  let outcomes: MirrorOutcome[];
  try {
    outcomes = await sweepInstances(
      { ec2: io.ec2, settings: options.settings, idempotencySeed: `backfill-${randomUUID()}`, dryRun: options.dryRun },
      {
        remove: false,
        concurrency: options.concurrency,
        onProgress: ({ found, done }) => {
          bar?.setTotal(found);
          bar?.update(done);
        },
      },
    );
  } finally {
    bar?.stop();
  }

  for (const o of outcomes) {
    if (o.outcome === "would-create") {
      io.stdout.write(`would mirror ${o.sourceId} ${o.interfaceId} as session ${o.sessionNumber} ${o.reason}\n`);
    } else if (o.outcome !== "already-mirrored" && o.outcome !== "created" && o.outcome !== "excluded") {
      io.stdout.write(`${o.outcome}: ${o.sourceId}${o.interfaceId ? ` ${o.interfaceId}` : ""}${o.reason ? ` (${o.reason})` : ""}\n`);
    }
  }
  const counts = summarize(outcomes);
  const table = new Table({ head: [options.dryRun ? "dry run" : "backfill", "ENIs / instances"], style: { head: [], border: [] } });
  for (const row of SUMMARY_ROWS) {
    table.push([row.label, row.outcomes.reduce((sum, o) => sum + counts[o], 0)]);
  }
  io.stdout.write(`${table.toString()}\n`);
  return counts.failed > 0 || counts["target-unavailable"] > 0 ? 1 : 0;
}
