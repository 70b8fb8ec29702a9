#!/usr/bin/python3
"""Rows per second that a ClickHouse server inserts over its HTTP interface, per input format.

The three formats the ClickHouse sink could send, TabSeparated, JSONEachRow and RowBinary, with the
same rows in the sink's table shape, over one kept-alive connection, in rounds of alternating
order. Each body is built before the clock starts, so the figures are the server's parsing and
inserting, not this script's. The table is a plain MergeTree: the same body is sent in every
batch, and a ReplacingMergeTree would collapse the repeats.

    /usr/bin/python3 bench/clickhouse_formats.py --http http://127.0.0.1:8123 [--rounds 5]

Standard library only (Debian's python3).
"""

import argparse
import http.client
import json
import statistics
import struct
import time
import urllib.parse
import uuid

COLUMNS = ("(event_id UUID, event_type String, user_id Nullable(Int64), user_type Nullable(String), "
           "metadata Nullable(String), created_at DateTime('UTC'), created_at_us UInt32)")


def make_rows(n):
    base = 1764979200  # 2025-12-06 00:00:00 UTC
    return [(uuid.uuid4(), "page_view", i, "student", '{"path":"/tasks/3"}', base + i % 86400,
             i * 7 % 1000000) for i in range(n)]


def tab_separated(rows):
    return "".join(f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\n"
                   for r in rows).encode()


def json_each_row(rows):
    keys = ("event_id", "event_type", "user_id", "user_type", "metadata", "created_at",
            "created_at_us")
    return "".join(json.dumps(dict(zip(keys, (str(r[0]),) + r[1:]))) + "\n" for r in rows).encode()


def row_binary(rows):
    def string(text):
        data = text.encode()
        return bytes([len(data)]) + data  # every string here is shorter than 128 bytes

    out = bytearray()
    for r in rows:
        b = r[0].bytes
        out += b[7::-1] + b[15:7:-1]  # a UUID is two little-endian 64-bit halves
        out += string(r[1])
        out += b"\x00" + struct.pack("<q", r[2])  # Nullable: a 0 byte, then the value
        out += b"\x00" + string(r[3])
        out += b"\x00" + string(r[4])
        out += struct.pack("<I", r[5]) + struct.pack("<I", r[6])
    return bytes(out)


class Server:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port or 8123, timeout=120)

    def query(self, sql, body=b""):
        self.conn.request("POST", "/?query=" + urllib.parse.quote(sql), body)
        answer = self.conn.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{sql[:60]}: HTTP {answer.status}: {data[:300]!r}")
        return data.decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", required=True, help="the server's HTTP base, http://HOST:PORT")
    parser.add_argument("--rows", type=int, default=10000, help="rows per batch")
    parser.add_argument("--batches", type=int, default=100, help="batches per format and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    server = Server(args.http)
    rows = make_rows(args.rows)
    bodies = {"TabSeparated": tab_separated(rows), "JSONEachRow": json_each_row(rows),
              "RowBinary": row_binary(rows)}
    rates = {name: [] for name in bodies}
    total = args.rows * args.batches
    print(f"ClickHouse {server.query('SELECT version()').strip()}: {total:,} rows per format and "
          f"round, {args.batches} batches of {args.rows:,}, {args.rounds} rounds")
    for round_number in range(args.rounds):
        order = list(bodies) if round_number % 2 == 0 else list(reversed(bodies))
        for name in order:
            table = f"bench_formats_{name.lower()}"
            server.query(f"DROP TABLE IF EXISTS {table}")
            server.query(f"CREATE TABLE {table} {COLUMNS} ENGINE = MergeTree "
                         "PARTITION BY toYYYYMM(created_at) ORDER BY (event_type, created_at, event_id)")
            start = time.perf_counter()
            for _ in range(args.batches):
                server.query(f"INSERT INTO {table} FORMAT {name}", bodies[name])
            elapsed = time.perf_counter() - start
            landed = int(server.query(f"SELECT count() FROM {table}"))
            first = server.query(f"SELECT toString(event_id) FROM {table} LIMIT 1").strip()
            server.query(f"DROP TABLE {table}")
            if landed != total or uuid.UUID(first) not in {r[0] for r in rows}:
                raise SystemExit(f"{name}: {landed} rows landed, first id {first}: not what was sent")
            rates[name].append(total / elapsed)
            print(f"round {round_number + 1}  {name:<13} {total / elapsed:>10,.0f} rows/s", flush=True)
    for name, values in rates.items():
        print(f"{name:<13} median {statistics.median(values):>10,.0f} rows/s")


if __name__ == "__main__":
    main()
