import type { EnrichedRecord, Side } from "./enrich";

/** An aggregated record: the flows of one window between one client and one server port. */
export interface AggregatedRecord extends EnrichedRecord {
  Window: { Start: number; End: number; Seconds: number };
  Flows: number;
}

const identity = (side: Side | undefined) => side?.Arn ?? side?.AwsService ?? side?.Addr ?? "-";

/**
 * Sums bytes and packets per window and per (client resource, server resource, server port,
 * protocol, action). Windows close once the input moves a window past them, so the state held is
 * bounded by the distinct keys of the open windows.
 */
export class WindowAggregator {
  private readonly open = new Map<number, Map<string, AggregatedRecord>>();
  private latestStart = 0;

  constructor(private readonly seconds: number) {
    if (![60, 300, 3600].includes(seconds)) throw new Error(`window must be 60, 300 or 3600 seconds (got ${seconds})`);
  }

  push(record: EnrichedRecord): AggregatedRecord[] {
    if (record.Start === undefined || !record.Client || !record.Server) return [];
    const windowStart = record.Start - (record.Start % this.seconds);
    // A window that closed already is not reopened: a late record comes out as a window of its own.
    if (windowStart + 2 * this.seconds <= this.latestStart) return [this.windowRecord(record, windowStart)];
    const windows = this.open.get(windowStart) ?? new Map<string, AggregatedRecord>();
    this.open.set(windowStart, windows);
    const key = `${identity(record.Client)}|${identity(record.Server)}|${record.Server.Port ?? ""}|${record.Protocol}|${record.Action}`;
    const current = windows.get(key);
    if (current) {
      current.Uploaded += record.Uploaded;
      current.Downloaded += record.Downloaded;
      current.Packets += record.Packets;
      current.Flows += 1;
    } else {
      windows.set(key, this.windowRecord(record, windowStart));
    }
    const closed: AggregatedRecord[] = [];
    if (record.Start > this.latestStart) {
      this.latestStart = record.Start;
      for (const [start, entries] of this.open) {
        if (start + 2 * this.seconds <= this.latestStart) {
          closed.push(...entries.values());
          this.open.delete(start);
        }
      }
    }
    return closed;
  }

  /** A window's first record: the record without what is particular to it (its ENI, times, client port). */
  private windowRecord(record: EnrichedRecord, windowStart: number): AggregatedRecord {
    const { Start: _s, End: _e, InterfaceId: _i, LogStatus: _l, ...rest } = record;
    // The client's port is one of many in a window: it says nothing about the aggregate.
    const { Port: _p, ...client } = record.Client!;
    return { ...rest, Client: client, Window: { Start: windowStart, End: windowStart + this.seconds, Seconds: this.seconds }, Flows: 1 };
  }

  flush(): AggregatedRecord[] {
    const rest = [...this.open.values()].flatMap((w) => [...w.values()]);
    this.open.clear();
    return rest;
  }
}
