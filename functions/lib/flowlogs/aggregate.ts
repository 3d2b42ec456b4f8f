import { toEnrichedRecord, type EnrichedRecord, type Flow } from "./enrich";

/** An aggregated record: the flows of one window between one client and one server port. */
export interface AggregatedRecord extends EnrichedRecord {
  Window: { Start: number; End: number; Seconds: number };
  Flows: number;
}

export const WINDOW_SECONDS = [60, 300, 3600] as const;

/**
 * The window a flow falls in (by its capture window's start) and its key within it, as one string
 * (what the tumbling-window function's state is keyed by; WindowAggregator keys the same level by
 * level); undefined for a flow without ends or start.
 */
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

/** A window's open totals: by client resource, then server resource, then server port, protocol and action (restKey). */
type WindowTotals = Map<string, Map<string, Map<number, WindowTotal>>>;

/**
 * Sums bytes and packets per window and per (client resource, server resource, server port,
 * protocol, action). Windows close once the input moves a window (and `heldSeconds`) past them, so
 * the state held is bounded by the distinct keys of the open windows. Keys are looked up level by
 * level, by the endpoints' own identity strings (whose hashes the engine keeps), rather than as
 * one string built per flow: building and hashing that was a tenth of a windowed run.
 */
export class WindowAggregator {
  private readonly open = new Map<number, WindowTotals>();
  private latestStart = 0;
  /** Actions by number, for restKey (a closed vocabulary: ACCEPT, REJECT). */
  private readonly actions = new Map<string | undefined, number>();

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
    const { client, server, start } = flow;
    if (start === undefined || !client || !server) return false;
    const windowStart = start - (start % this.seconds);
    // A window that closed already is not reopened: a late record comes out as a window of its own.
    if (this.closed(windowStart)) {
      this.emit(new WindowTotal(flow, windowStart, this.seconds));
      return true;
    }
    let clients = this.open.get(windowStart);
    if (!clients) {
      clients = new Map();
      this.open.set(windowStart, clients);
    }
    let servers = clients.get(client.identity);
    if (!servers) {
      servers = new Map();
      clients.set(client.identity, servers);
    }
    let totals = servers.get(server.identity);
    if (!totals) {
      totals = new Map();
      servers.set(server.identity, totals);
    }
    const key = this.restKey(flow);
    const current = totals.get(key);
    if (current) current.add(flow);
    else totals.set(key, new WindowTotal(flow, windowStart, this.seconds));
    if (start > this.latestStart) {
      this.latestStart = start;
      for (const [windowStart, totals] of this.open) {
        if (!this.closed(windowStart)) continue;
        this.emitAll(totals);
        this.open.delete(windowStart);
      }
    }
    return true;
  }

  /** The server port (65536: none), protocol (256: none) and action of a flow as one exact number (the scanner bounds ports and protocols). */
  private restKey(flow: Flow): number {
    let action = this.actions.get(flow.action);
    if (action === undefined) {
      action = this.actions.size;
      this.actions.set(flow.action, action);
    }
    return (action * 65537 + (flow.serverPort ?? 65536)) * 257 + (flow.protocol ?? 256);
  }

  private emitAll(totals: WindowTotals): void {
    for (const servers of totals.values()) for (const byRest of servers.values()) for (const total of byRest.values()) this.emit(total);
  }

  private closed(windowStart: number): boolean {
    return windowStart + 2 * this.seconds + this.heldSeconds <= this.latestStart;
  }

  /** Emits every open window, at the end of the input. */
  flush(): void {
    for (const totals of this.open.values()) this.emitAll(totals);
    this.open.clear();
  }

  /** Emits every open window and lets time start again: the input went back to begin another series. */
  restart(): void {
    this.flush();
    this.latestStart = 0;
  }
}
