import fc from "fast-check";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { DEFAULT_FORMAT, FIELD, FLOW_LOG_FIELDS, type FlowLogField } from "../functions/lib/flowlogs/fields";
import { headerFormat, parseLogFormat } from "../functions/lib/flowlogs/format";
import { emptyCounts, FlowLogReader, type ReaderPartition } from "../functions/lib/flowlogs/input";
import { parseRecord, RecordScanner } from "../functions/lib/flowlogs/record";
import { ACCEPTED, HEADER, IPV6, NODATA, REJECTED, SKIPDATA } from "./helpers/documented-flow-logs";
import { readFlowLogs } from "./helpers/read-flow-logs";

async function readAll(input: Buffer | string, format: readonly FlowLogField[] = DEFAULT_FORMAT, partition?: ReaderPartition) {
  const counts = emptyCounts();
  const items = await readFlowLogs(Readable.from([Buffer.from(input)]), format, counts, partition);
  return { items, counts, records: items.flatMap((i) => (i.kind === "record" ? [i.record] : [])) };
}

describe("flow log format strings", () => {
  it("reads the format as given to CreateFlowLogs, in any order", () => {
    expect(parseLogFormat("${version} ${srcaddr} ${pkt-dst-aws-service} ${traffic-path}")).toEqual({ ok: true, fields: ["version", "srcaddr", "pkt-dst-aws-service", "traffic-path"] });
    expect(parseLogFormat(undefined)).toEqual({ ok: true, fields: DEFAULT_FORMAT });
  });

  it.each([
    ["${srcaddr} ${no-such-field}", "${no-such-field} is not a VPC flow log field"],
    ["${srcaddr} srcport", '"srcport" is not a field reference such as ${srcaddr}'],
    ["${srcaddr} ${srcaddr}", "${srcaddr} appears twice"],
  ])("refuses %s", (format, reason) => {
    expect(parseLogFormat(format)).toEqual({ ok: false, reason });
  });

  it("recognizes the header line S3 delivery writes, and only that", () => {
    expect(headerFormat(HEADER)).toEqual(DEFAULT_FORMAT);
    expect(headerFormat(ACCEPTED)).toBeUndefined();
  });
});

describe("flow log records", () => {
  it("parses AWS's documented default-format record", () => {
    expect(parseRecord(ACCEPTED, DEFAULT_FORMAT)).toEqual({
      ok: true,
      record: {
        version: 2, "account-id": "123456789010", "interface-id": "eni-1235b8ca123456789", srcaddr: "172.31.16.139", dstaddr: "172.31.16.21",
        srcport: 20641, dstport: 22, protocol: 6, packets: 20, bytes: 4249, start: 1418530010, end: 1418530070, action: "ACCEPT", "log-status": "OK",
      },
    });
  });

  it("keeps NODATA and SKIPDATA records, their missing fields left out", () => {
    expect(parseRecord(NODATA, DEFAULT_FORMAT)).toEqual({
      ok: true,
      record: { version: 2, "account-id": "123456789010", "interface-id": "eni-1235b8ca123456789", start: 1431280876, end: 1431280934, "log-status": "NODATA" },
    });
    expect(parseRecord(SKIPDATA, DEFAULT_FORMAT)).toMatchObject({ ok: true, record: { "log-status": "SKIPDATA" } });
  });

  it("parses IPv6 addresses and custom formats with v3-v8 fields, separated by any run of whitespace", () => {
    expect(parseRecord(IPV6, DEFAULT_FORMAT)).toMatchObject({ ok: true, record: { srcaddr: "2001:db8:1234:a100:8d6e:3477:df66:f105" } });
    const format = parseLogFormat("${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${tcp-flags} ${flow-direction} ${traffic-path} ${reject-reason}");
    if (!format.ok) throw new Error(format.reason);
    const line = "5 vpc-abcdefab012345678\tsubnet-aaaaaaaa012345678 i-01234567890123456  eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 2 ingress 1 -";
    expect(parseRecord(line, format.fields)).toMatchObject({ ok: true, record: { type: "IPv4", "tcp-flags": 2, "flow-direction": "ingress", "traffic-path": 1, "pkt-srcaddr": "52.213.180.42" } });
  });

  it.each([
    [ACCEPTED.replace(" OK", ""), "expected 14 fields, found 13"],
    [ACCEPTED.replace("20641", "2064x"), 'srcport "2064x" is not a whole number'],
    [ACCEPTED.replace("20641", "70000"), "srcport 70000 is out of range (0-65535)"],
    [ACCEPTED.replace("172.31.16.139", "172.31.16.300"), 'srcaddr "172.31.16.300" is not an IPv4 or IPv6 address'],
    // The same 32 bits as 172.31.16.139 if octets could overflow into the next: still not an address.
    [ACCEPTED.replace("172.31.16.139", "172.30.272.139"), 'srcaddr "172.30.272.139" is not an IPv4 or IPv6 address'],
    [ACCEPTED.replace("172.31.16.139", "172.031.16.139"), 'srcaddr "172.031.16.139" is not an IPv4 or IPv6 address'],
    [ACCEPTED.replace("172.31.16.139", "172.31.16"), 'srcaddr "172.31.16" is not an IPv4 or IPv6 address'],
    [ACCEPTED.replace("172.31.16.139", "172.31..139"), 'srcaddr "172.31..139" is not an IPv4 or IPv6 address'],
    [ACCEPTED.replace("ACCEPT", "ALLOW"), 'action "ALLOW" is not one of ACCEPT, REJECT'],
  ])("reports a malformed record with the reason: %s", (line, reason) => {
    expect(parseRecord(line, DEFAULT_FORMAT)).toEqual({ ok: false, reason });
  });
});

describe("reading flow log inputs", () => {
  const text = [HEADER, ACCEPTED, "garbage line", REJECTED, NODATA, SKIPDATA, ""].join("\n");

  it("reads plain text, takes the format from the header line, and reports a malformed line by number without losing the next", async () => {
    const { items, counts } = await readAll(text);
    expect(items.map((i) => (i.kind === "record" ? `${i.line}:${i.record.action ?? i.record["log-status"]}` : `${i.line}:malformed`))).toEqual([
      "2:ACCEPT", "3:malformed", "4:REJECT", "5:NODATA", "6:SKIPDATA",
    ]);
    expect(items[1]).toEqual({ kind: "malformed", line: 3, reason: "expected 14 fields, found 2", text: "garbage line" });
    expect(counts).toEqual({ read: 5, records: 4, malformed: 1, nodata: 1, skipdata: 1 });
  });

  it("reads text that begins with a UTF-8 byte order mark (as Windows tools save it) as the same text without", async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const input of [text, [ACCEPTED, REJECTED].join("\n")]) {
      expect(await readAll(Buffer.concat([bom, Buffer.from(input)]))).toEqual(await readAll(input));
    }
  });

  it("reads gzip the same as plain text", async () => {
    expect((await readAll(gzipSync(text))).counts).toEqual((await readAll(text)).counts);
  });

  it("reads gzip of several megabytes in several members (as files put together are) line for line like the plain text", async () => {
    // Lines of varying length, so decompressed chunks end mid-line; a malformed one on each side of the members' seam.
    const withPortAndBytes = (port: number, bytes: number) => ACCEPTED.split(" ").map((v, f) => (f === 5 ? port : f === 9 ? bytes : v)).join(" ");
    const lines = Array.from({ length: 40_000 }, (_, i) => (i % 9_999 === 0 ? `garbage ${i}` : withPortAndBytes(i % 65_536, i * 7)));
    const plain = lines.join("\n");
    const half = plain.indexOf("\n", plain.length / 2) + 1;
    const members = Buffer.concat([gzipSync(plain.slice(0, half)), gzipSync(plain.slice(half))]);
    expect(Buffer.byteLength(plain)).toBeGreaterThan(4 << 20);
    const fromGzip = await readAll(members);
    const asText = (items: readonly unknown[]) => items.map((item) => JSON.stringify(item));
    expect(asText(fromGzip.items)).toEqual(asText((await readAll(plain)).items));
    expect(fromGzip.counts).toEqual({ read: 40_000, records: 39_995, malformed: 5, nodata: 0, skipdata: 0 });
  });

  it("reads the JSON lines Firehose direct delivery writes", async () => {
    const { records } = await readAll([ACCEPTED, REJECTED].map((message) => JSON.stringify({ message })).join("\n"));
    expect(records.map((r) => r.action)).toEqual(["ACCEPT", "REJECT"]);
  });

  it("reads every object of a line that holds several, and reports the one that is not flow logs", async () => {
    const { records, counts } = await readAll(`${JSON.stringify({ message: ACCEPTED })}{"note":"not a record"}${JSON.stringify({ message: REJECTED })}`);
    expect(records.map((r) => r.action)).toEqual(["ACCEPT", "REJECT"]);
    expect(counts.malformed).toBe(1);
  });

  it("reads CloudWatch Logs subscription payloads, gzip'd and concatenated, and ignores control messages", async () => {
    const envelope = (messages: string[]) =>
      JSON.stringify({
        messageType: "DATA_MESSAGE", owner: "123456789010", logGroup: "/flowtap/flow-logs", logStream: "eni-1235b8ca123456789-all",
        subscriptionFilters: ["flowtap"], logEvents: messages.map((message, i) => ({ id: String(i), timestamp: 1418530070000, message })),
      });
    const control = JSON.stringify({ messageType: "CONTROL_MESSAGE", owner: "CloudwatchLogs", logGroup: "", logStream: "", subscriptionFilters: [], logEvents: [{ id: "", timestamp: 1, message: "CWL CONTROL MESSAGE: Checking health of destination Firehose." }] });
    const { records, counts } = await readAll(gzipSync(envelope([ACCEPTED, REJECTED]) + control + envelope([IPV6])));
    expect(records.map((r) => r.srcaddr)).toEqual(["172.31.16.139", "172.31.9.69", "2001:db8:1234:a100:8d6e:3477:df66:f105"]);
    expect(counts.malformed).toBe(0);
  });

  it("reads what a CloudWatch Logs export task writes, each event after its timestamp, as it reads the events alone", async () => {
    const events = [ACCEPTED, REJECTED, "garbage line", NODATA, IPV6];
    const exported = events.map((event, i) => `2014-12-14T04:0${i}:10.${i}00Z ${event}`).join("\n");
    const fromExport = await readAll(gzipSync(exported));
    expect(fromExport.items).toEqual((await readAll(events.join("\n"))).items);
    expect(fromExport.counts).toEqual({ read: 5, records: 4, malformed: 1, nodata: 1, skipdata: 0 });
  });

  it("takes off only a whole timestamp followed by a blank", async () => {
    for (const line of [`2014-12-14T04:00:10.000Z${ACCEPTED}`, `2014-12-14 04:00:10.000Z ${ACCEPTED}`, `2014-12-14T04:00:10.000 ${ACCEPTED}`, `2014-12-14T04:00:10.000Z`]) {
      expect((await readAll(line)).counts).toMatchObject({ records: 0, malformed: 1 });
    }
    // An az-id (use1-az1) has a dash where a timestamp has its first.
    const format = parseLogFormat("${az-id} ${srcaddr} ${dstaddr}");
    if (!format.ok) throw new Error(format.reason);
    expect((await readAll("use1-az1 10.0.0.1 10.0.0.2", format.fields)).records).toEqual([{ "az-id": "use1-az1", srcaddr: "10.0.0.1", dstaddr: "10.0.0.2" }]);
  });

  it("reads what aws logs filter-log-events and get-log-events answer, printed one key to a line or on one, as the messages alone", async () => {
    const messages = [ACCEPTED, REJECTED, NODATA, IPV6];
    const events = messages.map((message, i) => ({ logStreamName: "eni-1235b8ca123456789-all", timestamp: 1418530070000 + i, message, ingestionTime: 1418530080000, eventId: `3195310660696698337880902507980421114328961542429822156${i}` }));
    const filtered = { events, searchedLogStreams: [{ logStreamName: "eni-1235b8ca123456789-all", searchedCompletely: true }] };
    const alone = await readAll(messages.join("\n"));
    // As the AWS CLI prints it (four spaces a level), gzip'd, and as one line (jq -c).
    for (const input of [JSON.stringify(filtered, null, 4), gzipSync(JSON.stringify(filtered, null, 2)), JSON.stringify({ events, nextForwardToken: "f/1", nextBackwardToken: "b/1" })]) {
      const read = await readAll(input);
      expect(read.records).toEqual(alone.records);
      expect(read.counts).toEqual(alone.counts);
    }
    // Each message on its own line: a malformed one is reported there; every one is read by one partition of two.
    const document = JSON.stringify({ events: [...events, { ...events[0], message: "2 garbage" }] }, null, 4);
    const { items } = await readAll(document);
    const messageLine = document.split("\n").findLastIndex((line) => line.includes('"message"')) + 1;
    expect(items.at(-1)).toEqual({ kind: "malformed", line: messageLine, reason: "expected 14 fields, found 2", text: "2 garbage" });
    const shares = await Promise.all([0, 1].map((index) => readAll(document, DEFAULT_FORMAT, { index, count: 2 })));
    expect(shares.map((share) => share.counts.read).reduce((a, b) => a + b)).toBe(5);
    expect(shares.flatMap((share) => share.records).length).toBe(4);
    // Lines after a document, a second document (two pages put together), and records after one cut short are read as ever.
    const after = await readAll(`${JSON.stringify(filtered, null, 4)}\n${ACCEPTED}\n${JSON.stringify({ events: events.slice(0, 1) }, null, 4)}\n{\n    "events": [\n${REJECTED}\n`);
    expect(after.records.map((r) => r.action ?? r["log-status"])).toEqual([...alone.records.map((r) => r.action ?? r["log-status"]), "ACCEPT", "ACCEPT", "REJECT"]);
    expect(after.counts.malformed).toBe(0);
  });

  it("reads a base64 CloudWatch Logs payload, as a Lambda subscription receives it", async () => {
    const payload = gzipSync(JSON.stringify({ messageType: "DATA_MESSAGE", logEvents: [{ id: "1", timestamp: 1, message: ACCEPTED }] })).toString("base64");
    expect((await readAll(payload)).records).toHaveLength(1);
  });
});

describe("reading in partitions by flow", () => {
  /** The same flow logged in the other direction: ends (address and port) swapped. */
  const reverse = (record: string) => {
    const f = record.split(" ");
    [f[3], f[4], f[5], f[6]] = [f[4], f[3], f[6], f[5]];
    return f.join(" ");
  };
  const lineArb = fc.oneof(
    fc.tuple(fc.constantFrom("eni-1235b8ca123456789", "eni-11111111aaaaaaaaa", "eni-0a1b2c3d4e5f60001", "eni-0f0f0f0f0f0f0f0f0"), fc.constantFrom(ACCEPTED, REJECTED, NODATA, IPV6), fc.boolean())
      .map(([eni, record, reversed]) => (reversed ? reverse(record) : record).replace(/eni-[0-9a-f]+/, eni)),
    fc.tuple(fc.constantFrom(ACCEPTED, REJECTED), fc.boolean()).map(([record, firehose]) => (firehose ? JSON.stringify({ message: record.replace("1235b8ca", "99998888") }) : record)),
    fc.constantFrom("garbage line", "{not json", "2 123456789010 eni-1235b8ca123456789 not enough fields", "2 123456789010 - 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK"),
  );
  /** What both directions of a flow share: the ENI, the capture window's start and the set of its ends. */
  const flowOf = (r: Record<string, unknown>) => [r["interface-id"], r.start, ...[`${r.srcaddr} ${r.srcport}`, `${r.dstaddr} ${r.dstport}`].sort()].join(" ");
  /** Per flow, the partitions its records were read in. */
  const partitionsByFlow = (parts: readonly { records: Record<string, unknown>[] }[]) => {
    const partitionsOf = new Map<string, Set<number>>();
    parts.forEach((p, i) => p.records.forEach((r) => partitionsOf.set(flowOf(r), (partitionsOf.get(flowOf(r)) ?? new Set()).add(i))));
    return partitionsOf;
  };

  it("reads every record and reports every malformed line exactly once across the partitions, both directions of a flow in one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (lines, count) => {
        const input = [HEADER, ...lines].join("\n");
        const whole = await readAll(input);
        const parts = await Promise.all(Array.from({ length: count }, (_, index) => readAll(input, DEFAULT_FORMAT, { index, count })));
        const byLine = (items: typeof whole.items) => [...items].sort((a, b) => a.line - b.line);
        expect(byLine(parts.flatMap((p) => p.items))).toEqual(whole.items);
        for (const key of Object.keys(whole.counts) as (keyof typeof whole.counts)[]) expect(parts.reduce((n, p) => n + p.counts[key], 0)).toBe(whole.counts[key]);
        for (const partitions of partitionsByFlow(parts).values()) expect(partitions.size).toBe(1);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps both directions together whatever the order of the fields", async () => {
    const format = ["dstport", "start", "srcaddr", "interface-id", "action", "srcport", "dstaddr"] as const;
    const flows = Array.from({ length: 200 }, (_, i) => ({ eni: `eni-${(i % 7).toString(16).padStart(17, "0")}`, start: 1418530000 + i * 13, src: `10.0.${i % 5}.${i}`, srcPort: 40000 + i, dst: `10.1.0.${i % 3}`, dstPort: 443 }));
    const toLine = (f: (typeof flows)[number]) => `${f.dstPort} ${f.start} ${f.src} ${f.eni} ACCEPT ${f.srcPort} ${f.dst}`;
    const input = flows.flatMap((f) => [toLine(f), toLine({ ...f, src: f.dst, srcPort: f.dstPort, dst: f.src, dstPort: f.srcPort })]).join("\n");
    const parts = await Promise.all([0, 1, 2].map((index) => readAll(input, format, { index, count: 3 })));
    expect(parts.reduce((n, p) => n + p.records.length, 0)).toBe(400);
    const partitionsOf = partitionsByFlow(parts);
    expect(partitionsOf.size).toBe(200);
    for (const partitions of partitionsOf.values()) expect(partitions.size).toBe(1);
  });

  it("keeps both directions together by their pkt- ends, as merging takes them, when the hops differ", async () => {
    // AWS's NAT gateway example: the instance's packets reach the NAT gateway's ENI and its answers leave it (here by another hop).
    const format = ["interface-id", "srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr", "srcport", "dstport", "protocol"] as const;
    const input = Array.from({ length: 100 }, (_, i) => [
      `eni-1235b8ca123456789 10.0.1.${i} 10.0.0.220 10.0.1.${i} 203.0.113.5 ${40000 + i} 443 6`,
      `eni-1235b8ca123456789 10.0.0.${i % 2 === 0 ? 220 : 221} 10.0.1.${i} 203.0.113.5 10.0.1.${i} 443 ${40000 + i} 6`,
    ]).flat().join("\n");
    const parts = await Promise.all([0, 1, 2].map((index) => readAll(input, format, { index, count: 3 })));
    expect(parts.reduce((n, p) => n + p.records.length, 0)).toBe(200);
    for (const p of parts) {
      expect(p.records.length).toBeGreaterThan(0);
      const instances = p.records.map((r) => (r.srcport === 443 ? r["pkt-dstaddr"] : r["pkt-srcaddr"]));
      // Each instance's two records, in one partition.
      for (const instance of new Set(instances)) expect(instances.filter((a) => a === instance)).toHaveLength(2);
    }
  });

  it("spreads the flows over the partitions, those of one busy ENI too", async () => {
    const input = Array.from({ length: 400 }, (_, i) => ACCEPTED.replace("172.31.16.139", `172.31.${i >> 8}.${i & 255}`)).join("\n");
    const shares = await Promise.all([0, 1, 2, 3].map(async (index) => (await readAll(input, DEFAULT_FORMAT, { index, count: 4 })).records.length));
    expect(shares.reduce((a, b) => a + b)).toBe(400);
    for (const share of shares) expect(share).toBeGreaterThan(60);
  });

  it("spreads the flows of one busy pair of addresses by their ports, both directions of each in one partition", async () => {
    // An application's connections to its database: one ENI, two addresses, a client port each.
    const flows = Array.from({ length: 400 }, (_, i) => ACCEPTED.replace("20641", String(32768 + i)));
    const input = flows.flatMap((flow) => [flow, reverse(flow)]).join("\n");
    const parts = await Promise.all([0, 1, 2, 3].map((index) => readAll(input, DEFAULT_FORMAT, { index, count: 4 })));
    expect(parts.reduce((n, p) => n + p.records.length, 0)).toBe(800);
    for (const p of parts) expect(p.records.length).toBeGreaterThan(120);
    for (const partitions of partitionsByFlow(parts).values()) expect(partitions.size).toBe(1);
  });

  it("refuses a partition outside its count", () => {
    expect(() => new FlowLogReader(DEFAULT_FORMAT, emptyCounts(), { record: () => undefined, malformed: () => undefined }, { index: 2, count: 2 })).toThrow("partition 2 of 2");
  });
});

describe("parsing, property-based", () => {
  const valueOf: Record<string, fc.Arbitrary<string>> = {
    int: fc.nat({ max: 65535 }).map(String),
    ip: fc.oneof(fc.ipV4(), fc.ipV6()),
    text: fc.stringMatching(/^[a-z0-9:/-]{1,20}$/),
  };
  const fieldArb = fc.shuffledSubarray(Object.keys(FLOW_LOG_FIELDS) as FlowLogField[], { minLength: 1 });
  const valueFor = (field: FlowLogField): fc.Arbitrary<string> => {
    if (field === "action") return fc.constantFrom("ACCEPT", "REJECT");
    if (field === "log-status") return fc.constantFrom("OK", "NODATA", "SKIPDATA");
    if (field === "type") return fc.constantFrom("IPv4", "IPv6", "EFA");
    if (field === "flow-direction") return fc.constantFrom("ingress", "egress");
    if (field === "sublocation-type") return fc.constantFrom("wavelength", "outpost", "localzone");
    if (field === "traffic-path") return fc.integer({ min: 1, max: 8 }).map(String);
    if (field === "encryption-status") return fc.integer({ min: 0, max: 3 }).map(String);
    if (field === "protocol" || field === "tcp-flags") return fc.integer({ min: 0, max: 255 }).map(String);
    return fc.oneof({ weight: 9, arbitrary: valueOf[FLOW_LOG_FIELDS[field]] }, { weight: 1, arbitrary: fc.constant("-") });
  };
  const recordArb = fieldArb.chain((fields) => fc.tuple(fc.constant(fields), fc.tuple(...fields.map(valueFor))));

  it("parses every well-formed record of any format back to its values", () => {
    fc.assert(
      fc.property(recordArb, fc.constantFrom(" ", "\t", "  "), ([fields, values], separator) => {
        const parsed = parseRecord(values.join(separator), fields);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        fields.forEach((field, i) => {
          const expected = values[i] === "-" ? undefined : FLOW_LOG_FIELDS[field] === "int" ? Number(values[i]) : values[i];
          expect(parsed.record[field]).toEqual(expected);
        });
      }),
    );
  });

  it("reads a record's addresses alone into the slots scanning the whole record fills, and leaves out what is not an address", () => {
    const ADDRESS_FIELDS = ["srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr"] as const;
    const addressSlots = (scanner: RecordScanner) =>
      ADDRESS_FIELDS.map((field) => (scanner.present[FIELD[field]] ? { text: scanner.texts[FIELD[field]], entry: scanner.entries[FIELD[field]] } : undefined));
    const mutatedArb = fc.tuple(recordArb, fc.string({ maxLength: 12 }), fc.nat(), fc.boolean());
    fc.assert(
      fc.property(mutatedArb, ([[fields, values], garbage, at, mutate]) => {
        const record = values.join(" ");
        const line = mutate ? record.slice(0, at % (record.length + 1)) + garbage + record.slice(at % (record.length + 1)) : record;
        const bytes = Buffer.from(line.replace(/\n/g, " "), "utf8");
        const whole = new RecordScanner(fields);
        const addresses = new RecordScanner(fields);
        addresses.scanAddresses(bytes, 0, bytes.length);
        if (whole.scan(bytes, 0, bytes.length)) expect(addressSlots(addresses)).toEqual(addressSlots(whole));
        for (const slot of addressSlots(addresses)) if (slot) expect(isIP(slot.text!)).not.toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("reads every well-formed record after an export task's timestamp as it reads the record alone", async () => {
    const timestamp = fc.date({ min: new Date(0), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }).map((d) => d.toISOString());
    await fc.assert(
      fc.asyncProperty(recordArb, timestamp, async ([fields, values], at) => {
        const line = values.join(" ");
        expect((await readAll(`${at} ${line}\n`, fields)).items).toEqual((await readAll(`${line}\n`, fields)).items);
      }),
      { numRuns: 200 },
    );
  });

  it("never throws on a mutated record, and a malformed line never changes how the next one parses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), fc.nat({ max: ACCEPTED.length }), async (garbage, at) => {
        const mutated = ACCEPTED.slice(0, at) + garbage + ACCEPTED.slice(at);
        expect(() => parseRecord(mutated, DEFAULT_FORMAT)).not.toThrow();
        const { items } = await readAll(`${mutated.replace(/\n/g, " ")}\n${REJECTED}\n`);
        expect(items.at(-1)).toMatchObject({ kind: "record", record: { action: "REJECT", srcaddr: "172.31.9.69" } });
      }),
      { numRuns: 200 },
    );
  });
});
