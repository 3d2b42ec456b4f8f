import { toEnrichedRecord, type EnrichedRecord, type Flow } from "./enrich";

/** An aggregated record: the flows of one window between one client and one server port. */
export interface AggregatedRecord extends EnrichedRecord {
  Window: { Start: number; End: number; Seconds: number };
  Flows: number;
}

export const WINDOW_SECONDS = [60, 300, 3600] as const;

/** The window a flow falls in (by its capture window's start) and its key within it; undefined for a flow without ends or start. */
export function windowOf(flow: Flow, seconds: number): { start: number; key: string } | undefined {
  if (flow.start === undefined || !flow.client || !flow.server) return undefined;
  const start = flow.start - (flow.start % seconds);
  return { start, key: `${start}|${flow.client.identity}|${flow.server.identity}|${flow.serverPort ?? ""}|${flow.protocol}|${flow.action}` };
}

/** A window's first record: the flow without what is particular to it (its ENI, times, client port). */
export function windowRecordOf(flow: Flow, windowStart: number, seconds: number): AggregatedRecord {
  const { Start: _s, End: _e, InterfaceId: _i, LogStatus: _l, ...rest } = toEnrichedRecord(flow);
  // The client's port is one of many in a window: it says nothing about the aggregate.
  const { Port: _p, ...client } = rest.Client!;
  return { ...rest, Client: client, Window: { Start: windowStart, End: windowStart + seconds, Seconds: seconds }, Flows: 1 };
}

/**
 * What a window holds for one key while it is open: its first flow (written without what is
 * particular to it) and the sums, so that no record is built for a window until it is written.
 */
export class WindowTotal {
  uploaded: number;
  downloaded: number;
  packets: number;
  flows = 1;

  constructor(
    readonly flow: Flow,
    readonly windowStart: number,
    readonly seconds: number,
  ) {
    this.uploaded = flow.uploaded;
    this.downloaded = flow.downloaded;
    this.packets = flow.packets;
  }

  add(flow: Flow): void {
    this.uploaded += flow.uploaded;
    this.downloaded += flow.downloaded;
    this.packets += flow.packets;
    this.flows++;
  }
}

/** The aggregated record a window's total stands for. */
export function toAggregatedRecord(total: WindowTotal): AggregatedRecord {
  const record = windowRecordOf(total.flow, total.windowStart, total.seconds);
  record.Uploaded = total.uploaded;
  record.Downloaded = total.downloaded;
  record.Packets = total.packets;
  record.Flows = total.flows;
  return record;
}

/** Adds a flow of the same window and key to an aggregate. */
export function addToWindow(aggregate: AggregatedRecord, flow: Flow): void {
  aggregate.Uploaded += flow.uploaded;
  aggregate.Downloaded += flow.downloaded;
  aggregate.Packets += flow.packets;
  aggregate.Flows += 1;
}

/**
 * Sums bytes and packets per window and per (client resource, server resource, server port,
 * protocol, action). Windows close once the input moves a window (and `heldSeconds`) past them, so
 * the state held is bounded by the distinct keys of the open windows.
 */
export class WindowAggregator {
  private readonly open = new Map<number, Map<string, WindowTotal>>();
  private latestStart = 0;

  /**
   * `emit` receives each window's total once the window has closed. `heldSeconds` keeps windows
   * open that much longer: as long as flows may wait before they come (a FlowMerger's horizon, for a
   * flow whose reverse never comes), so that one let go of late still finds its window.
   */
  constructor(
    private readonly seconds: number,
    private readonly emit: (total: WindowTotal) => void,
    private readonly heldSeconds = 0,
  ) {
    if (!(WINDOW_SECONDS as readonly number[]).includes(seconds)) throw new Error(`window must be ${WINDOW_SECONDS.join(", ")} seconds (got ${seconds})`);
  }

  /** Adds a flow to its window; false when it falls in none (it has no start time, or not both ends), and is left out. */
  push(flow: Flow): boolean {
    const window = windowOf(flow, this.seconds);
    if (!window || flow.start === undefined) return false;
    const windowStart = window.start;
    // A window that closed already is not reopened: a late record comes out as a window of its own.
    if (this.closed(windowStart)) {
      this.emit(new WindowTotal(flow, windowStart, this.seconds));
      return true;
    }
    let windows = this.open.get(windowStart);
    if (!windows) {
      windows = new Map();
      this.open.set(windowStart, windows);
    }
    const current = windows.get(window.key);
    if (current) current.add(flow);
    else windows.set(window.key, new WindowTotal(flow, windowStart, this.seconds));
    if (flow.start > this.latestStart) {
      this.latestStart = flow.start;
      for (const [start, entries] of this.open) {
        if (!this.closed(start)) continue;
        for (const total of entries.values()) this.emit(total);
        this.open.delete(start);
      }
    }
    return true;
  }

  private closed(windowStart: number): boolean {
    return windowStart + 2 * this.seconds + this.heldSeconds <= this.latestStart;
  }

  /** Emits every open window, at the end of the input. */
  flush(): void {
    for (const windows of this.open.values()) for (const total of windows.values()) this.emit(total);
    this.open.clear();
  }

  /** Emits every open window and lets time start again: the input went back to begin another series. */
  restart(): void {
    this.flush();
    this.latestStart = 0;
  }
}
