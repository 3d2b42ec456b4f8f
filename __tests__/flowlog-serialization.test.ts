import fc from "fast-check";
import { Readable } from "node:stream";
import { toAggregatedRecord, WINDOW_SECONDS, WindowTotal } from "../functions/lib/flowlogs/aggregate";
import { CLIENT_TO_SERVER, enricherOf, FlowMerger, SERVER_TO_CLIENT, toEnrichedRecord, type Flow } from "../functions/lib/flowlogs/enrich";
import { DEFAULT_FORMAT } from "../functions/lib/flowlogs/fields";
import { parseLogFormat } from "../functions/lib/flowlogs/format";
import { emptyCounts } from "../functions/lib/flowlogs/input";
import { ByteInterner, EntriesByKey } from "../functions/lib/flowlogs/interner";
import { Inventory, type InventoryDocuments } from "../functions/lib/flowlogs/inventory";
import { parseRecord, slotsOf } from "../functions/lib/flowlogs/record";
import { EnrichedJsonWriter } from "../functions/lib/flowlogs/serialize";
import { sampleInventory } from "../samples/generate";
import { ACCEPTED } from "./helpers/documented-flow-logs";
import { readFlowLogs } from "./helpers/read-flow-logs";

// The sample inventory, with tags that need escaping in JSON and are not ASCII.
const files = sampleInventory(40) as Record<string, Record<string, unknown>>;
const instances = files["describe-instances.json"] as { Reservations: { Instances: { Tags: { Key: string; Value: string }[] }[] }[] };
instances.Reservations[0].Instances[0].Tags.push({ Key: 'team "core"', Value: "Équipe réseau \\ ✓" });
const inventory = new Inventory({
  networkInterfaces: files["describe-network-interfaces.json"],
  securityGroups: files["describe-security-groups.json"],
  subnets: files["describe-subnets.json"],
  instances: files["describe-instances.json"],
  resources: files["get-resources.json"],
  managedPrefixLists: files["describe-managed-prefix-lists.json"],
  ipRanges: files["ip-ranges.json"],
} as unknown as InventoryDocuments);
const addresses = [...inventory.byAddress.keys()];

const FORMAT = parseLogFormat(
  "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags} ${flow-direction} ${pkt-srcaddr} ${az-id}",
);
if (!FORMAT.ok) throw new Error(FORMAT.reason);
const FIELDS = FORMAT.fields;
const dashOr = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: arb.map(String) }, { weight: 1, arbitrary: fc.constant("-") });
const address = fc.oneof(fc.constantFrom(...addresses), fc.constantFrom("52.217.44.20", "3.85.12.7", "198.51.100.7", "10.9.9.9", "2600:1f18::10"), fc.ipV4());
const lineArb = fc
  .tuple(
    dashOr(fc.constantFrom(2, 5)),
    dashOr(fc.constantFrom("123456789010", "210987654321")),
    dashOr(fc.constantFrom(...addresses.map((a) => inventory.byAddress.get(a)!.interfaceId))),
    dashOr(address),
    dashOr(address),
    dashOr(fc.nat({ max: 65535 })),
    dashOr(fc.constantFrom(443, 8080, 22, 5432, 40000, 60000)),
    dashOr(fc.constantFrom(1, 6, 17, 58, 132, 47)),
    dashOr(fc.nat({ max: 10_000 })),
    dashOr(fc.nat({ max: 2 ** 40 })),
    dashOr(fc.integer({ min: 1732204800, max: 1732205800 })),
    dashOr(fc.integer({ min: 1732204800, max: 1732205900 })),
    dashOr(fc.constantFrom("ACCEPT", "REJECT")),
    fc.constantFrom("OK", "NODATA", "SKIPDATA"),
    dashOr(fc.constantFrom(2, 18, 16, 3)),
    dashOr(fc.constantFrom("ingress", "egress")),
    fc.oneof(fc.constant("-"), address),
    dashOr(fc.constantFrom("use1-az1", "use1-az2", "use1-az4")),
  )
  .map((values) => values.join(" "));

function flowOf(line: string): Flow {
  const parsed = parseRecord(line, FIELDS);
  if (!parsed.ok) throw new Error(parsed.reason);
  return enricherOf(inventory).enrich(slotsOf(parsed.record));
}

describe("writing enriched records as JSON lines", () => {
  it("writes exactly what JSON.stringify writes of the enriched record, for any record", () => {
    const writer = new EnrichedJsonWriter();
    fc.assert(
      fc.property(lineArb, (line) => {
        const flow = flowOf(line);
        const expected = `${JSON.stringify(toEnrichedRecord(flow))}\n`;
        writer.write(flow);
        expect(writer.take().toString("utf8")).toBe(expected);
        writer.write(flow);
        expect(writer.takeText("base64")).toBe(Buffer.from(expected).toString("base64"));
      }),
      { numRuns: 500 },
    );
  });

  it("writes exactly what JSON.stringify writes of a window's aggregated record, for any flows in it", () => {
    const writer = new EnrichedJsonWriter();
    const flowWithEnds = lineArb.map(flowOf).filter((flow) => flow.client !== undefined && flow.start !== undefined);
    fc.assert(
      fc.property(flowWithEnds, fc.array(flowWithEnds, { maxLength: 3 }), fc.constantFrom(...WINDOW_SECONDS), (first, more, seconds) => {
        const total = new WindowTotal(first, first.start! - (first.start! % seconds), seconds);
        for (const flow of more) total.add(flow);
        writer.writeWindow(total);
        expect(writer.take().toString("utf8")).toBe(`${JSON.stringify(toAggregatedRecord(total))}\n`);
      }),
      { numRuns: 300 },
    );
  });

  it("writes merged flows, many to a buffer, and grows the buffer for records larger than it has room for", () => {
    const writer = new EnrichedJsonWriter();
    const expected: string[] = [];
    let merged = 0;
    const merger = new FlowMerger((flow) => {
      writer.write(flow);
      expected.push(JSON.stringify(toEnrichedRecord(flow)));
      if (flow.directions === (CLIENT_TO_SERVER | SERVER_TO_CLIENT)) merged++;
    });
    // Past the writer's first buffer (2 MiB), so that it has to grow.
    while (writer.length <= 1 << 22) {
      for (const line of fc.sample(lineArb, 500)) {
        // Without flags and pkt- addresses, so that swapping the ends makes the record's reverse.
        const values = line.split(" ");
        values[14] = values[16] = "-";
        const reverse = [...values];
        [reverse[3], reverse[4], reverse[5], reverse[6]] = [values[4], values[3], values[6], values[5]];
        merger.push(flowOf(values.join(" ")));
        merger.push(flowOf(reverse.join(" ")));
      }
    }
    merger.flush();
    expect(merged).toBeGreaterThan(100);
    expect(writer.take().toString("utf8")).toBe(`${expected.join("\n")}\n`);
  });
});

describe("interning values", () => {
  it("gives the same string for the same bytes and the right string for every input, through the resets its bound forces", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 12 }), { maxLength: 60 }), (words) => {
        const interner = new ByteInterner(8);
        const seen = new Map<string, string>();
        for (const word of words) {
          const bytes = Buffer.from(` ${word} `, "utf8");
          const text = interner.intern(bytes, 1, bytes.length - 1);
          expect(text).toBe(word);
          seen.set(word, text);
        }
        const again = new ByteInterner(1 << 10);
        for (const word of words) {
          const bytes = Buffer.from(word, "utf8");
          expect(again.intern(bytes, 0, bytes.length)).toBe(again.intern(Buffer.from(word, "utf8"), 0, bytes.length));
        }
      }),
    );
  });
});

describe("entries by key", () => {
  it("finds what was stored for each key, and nothing from before its interner started again", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.string({ maxLength: 6 })), { maxLength: 200 }), (pairs) => {
        const interner = new ByteInterner(16);
        const byKey = new EntriesByKey(interner);
        const stored = new Map<number, string>();
        for (const [key, word] of pairs) {
          const generation = interner.generation;
          const bytes = Buffer.from(word, "utf8");
          const entry = interner.entry(bytes, 0, bytes.length);
          if (interner.generation !== generation) stored.clear();
          byKey.set(key, entry);
          stored.set(key, word);
          for (const [k, w] of stored) expect(interner.text(byKey.get(k))).toBe(w);
        }
        interner.entry(Buffer.from("x".repeat(7)), 0, 7);
        for (let i = 0; i < 16; i++) interner.entry(Buffer.from(`fill ${i}`), 0, `fill ${i}`.length);
        for (const key of stored.keys()) expect(byKey.get(key)).toBe(-1);
      }),
    );
  });
});

describe("reading in chunks", () => {
  const lines = [ACCEPTED, "garbage", ACCEPTED.replace("ACCEPT", "REJECT"), JSON.stringify({ message: ACCEPTED }), `  ${ACCEPTED}\t`, ""];
  const text = Buffer.from(lines.join("\r\n"));

  const itemsOf = (chunks: Buffer[]) => readFlowLogs(Readable.from(chunks), DEFAULT_FORMAT, emptyCounts());

  it("reads the same records and line numbers wherever the chunks split the input", async () => {
    const whole = await itemsOf([text]);
    expect(whole.map((i) => `${i.line}:${i.kind}`)).toEqual(["1:record", "2:malformed", "3:record", "4:record", "5:record"]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 8 }), async (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), text.length];
        const chunks = at.slice(1).map((end, i) => text.subarray(at[i], end));
        expect(await itemsOf(chunks)).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });
});
