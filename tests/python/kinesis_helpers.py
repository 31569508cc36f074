"""Kinesis served by moto in server mode on a local port (boto3 reaches it through
AWS_ENDPOINT_URL), and what the Lambda examples use of Lambda's context object."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from typing import Any, Dict, Iterator, List

import boto3
import pytest
from moto.server import ThreadedMotoServer

STREAM = "changes"


class LambdaContext:
    """What the handler uses of Lambda's context object."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its state per process, across servers: start empty.
    urllib.request.urlopen(urllib.request.Request(
        "http://127.0.0.1:%d/moto-api/reset" % port, method="POST"), timeout=10).close()
    for name, value in {"AWS_ENDPOINT_URL": "http://127.0.0.1:%d" % port,
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("kinesis")
    client.create_stream(StreamName=STREAM, ShardCount=2)
    client.get_waiter("stream_exists").wait(StreamName=STREAM)
    try:
        yield client
    finally:
        server.stop()


def published(client: Any) -> List[Dict[str, Any]]:
    """Every record in the stream: (partition key, decoded JSON), shard by shard."""
    out = []
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        iterator = client.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=10000)
            out += [{"key": r["PartitionKey"], **json.loads(r["Data"])}
                    for r in response["Records"]]
            if not response["Records"]:
                break
            iterator = response["NextShardIterator"]
    return out
