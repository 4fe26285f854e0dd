"""Export of any range as CSV or Parquet, streamed: a year of raw readings never sits in memory.

Raw readings come through a server-side cursor in batches; each batch becomes CSV lines or one
Parquet row group, sent as soon as it is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection, transaction

from apps.history import rollups, services

BATCH = 50_000
RAW_COLUMNS = ("sensor", "time", "value", "quality")
BUCKET_COLUMNS = ("sensor", "time", "avg", "min", "max", "count")
RAW_SCHEMA = pa.schema(
    [("sensor", pa.string()), ("time", pa.timestamp("us", tz="UTC")), ("value", pa.float64()), ("quality", pa.int16())]
)
BUCKET_SCHEMA = pa.schema(
    [("sensor", pa.string()), ("time", pa.timestamp("us", tz="UTC"))]
    + [(name, pa.float64()) for name in ("avg", "min", "max")]
    + [("count", pa.int64())]
)


def batches(sensor_ids: list[int], start: datetime, end: datetime, resolution: str) -> Iterator[list[tuple]]:
    """Rows (sensor name first) in batches of at most BATCH, ordered by sensor and time."""
    names = services.sensor_names(sensor_ids)
    if resolution == services.RAW:
        with transaction.atomic(), connection.chunked_cursor() as cursor:  # server-side: streamed
            cursor.execute(
                "SELECT sensor_id, time, value, quality FROM readings"
                " WHERE sensor_id = ANY(%s) AND time >= %s AND time < %s ORDER BY sensor_id, time",
                [sensor_ids, start, end],
            )
            while rows := cursor.fetchmany(BATCH):
                yield [(names[s], *rest) for s, *rest in rows]
        return
    rows = rollups.buckets(sensor_ids, start, end, resolution)
    for i in range(0, len(rows), BATCH):
        yield [(names[s], *rest) for s, *rest in rows[i : i + BATCH]]


def csv_stream(sensor_ids: list[int], start: datetime, end: datetime, resolution: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RAW_COLUMNS if resolution == services.RAW else BUCKET_COLUMNS)
    for rows in batches(sensor_ids, start, end, resolution):
        writer.writerows((name, t.isoformat(), *rest) for name, t, *rest in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class _Sink(io.RawIOBase):
    """A file for pyarrow to write into whose bytes are handed on as they come."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def parquet_stream(sensor_ids: list[int], start: datetime, end: datetime, resolution: str) -> Iterator[bytes]:
    schema = RAW_SCHEMA if resolution == services.RAW else BUCKET_SCHEMA
    sink = _Sink()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for rows in batches(sensor_ids, start, end, resolution):
            columns = list(zip(*rows, strict=True))
            writer.write_table(
                pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)
            )
            yield sink.take()
    yield sink.take()
