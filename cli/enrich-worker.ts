/**
 * A worker thread of `flowtap enrich`: reads every input, enriches its partition of the flows and
 * posts JSON lines to the main thread, at most CHUNKS_IN_FLIGHT chunks ahead of what the main
 * thread has written (so a slow sink holds the workers back instead of filling memory).
 */
import { once } from "node:events";
import { parentPort, workerData } from "node:worker_threads";
import type { FlowLogField } from "../functions/lib/flowlogs/fields";
import type { ReaderPartition } from "../functions/lib/flowlogs/input";
import { Inventory, type InventoryDocuments } from "../functions/lib/flowlogs/inventory";
import { fileSources, runEnrichPass, type EnrichTally } from "./enrich-pass";
import { readInventory } from "./inventory-files";

/** What the main thread starts a worker with. */
export interface EnrichWorkerData {
  readonly files: readonly string[];
  readonly fields: readonly FlowLogField[];
  /** Inventory directories that hold the files (found by the main thread). */
  readonly inventoryDirs: readonly string[];
  readonly partition: ReaderPartition;
  /** Aggregate into windows of this many seconds. @default - every flow is written */
  readonly windowSeconds?: number;
  /** Post progress (the main thread shows a bar). */
  readonly progress: boolean;
  /** Post at most this many malformed lines (the main thread prints no more). */
  readonly malformedReported: number;
}

/**
 * What the main thread posts a worker: the instances' tags first (it reads describe-instances, the
 * bulk of a realistic inventory, for every thread), then a credit for each chunk it has written.
 */
export type EnrichMainMessage = { readonly kind: "instances"; readonly instances: NonNullable<InventoryDocuments["instances"]> } | { readonly kind: "credit" };

/** What a worker posts. `done` is last; the main thread answers each `lines` with a credit. */
export type EnrichWorkerMessage =
  | { readonly kind: "lines"; readonly chunk: Uint8Array }
  | { readonly kind: "malformed"; readonly source: string; readonly line: number; readonly reason: string }
  | { readonly kind: "progress"; readonly bytes: number; readonly records: number }
  | { readonly kind: "done"; readonly tally: EnrichTally };

export const CHUNKS_IN_FLIGHT = 4;

async function main(port: NonNullable<typeof parentPort>, data: EnrichWorkerData): Promise<void> {
  const inventory = await inventoryWith(data.inventoryDirs, port);
  let credits = CHUNKS_IN_FLIGHT;
  let creditArrived: (() => void) | undefined;
  port.on("message", () => {
    credits++;
    creditArrived?.();
    creditArrived = undefined;
  });
  const post = (message: EnrichWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
  let malformed = 0;
  const tally = await runEnrichPass(
    fileSources(data.files),
    { fields: data.fields, inventory, windowSeconds: data.windowSeconds, partition: data.partition },
    {
      lines: async (chunk) => {
        while (credits === 0) await new Promise<void>((resolve) => (creditArrived = resolve));
        credits--;
        // Moved, not copied, to the main thread: the chunk's memory must be its own to move.
        const moved = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : new Uint8Array(chunk);
        post({ kind: "lines", chunk: moved }, [moved.buffer as ArrayBuffer]);
      },
      malformed: (source, line, reason) => {
        if (malformed++ < data.malformedReported) post({ kind: "malformed", source, line, reason });
      },
      progress: data.progress ? (bytes, records) => post({ kind: "progress", bytes, records }) : undefined,
    },
  );
  post({ kind: "done", tally });
  port.close();
}

/**
 * The inventory of `dirs` but describe-instances, read while the main thread reads that, with the
 * instances it posts first (no credit comes before: the worker has posted no lines yet). The
 * documents are let go once the inventory is made.
 */
async function inventoryWith(dirs: readonly string[], port: NonNullable<typeof parentPort>): Promise<Inventory> {
  const documents = readInventory(dirs, "instances");
  const [message] = (await once(port, "message")) as [EnrichMainMessage];
  if (message.kind !== "instances") throw new Error(`the main thread posted ${message.kind} before the instances`);
  return new Inventory({ ...documents, instances: message.instances });
}

if (parentPort) void main(parentPort, workerData as EnrichWorkerData);
