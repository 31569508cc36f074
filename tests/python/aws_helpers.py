"""AWS services for the examples' tests: moto in server mode on a local port (boto3
reaches it through AWS_ENDPOINT_URL), a local endpoint of Lambda's Invoke API that
records what it was asked to run (moto cannot run functions without Docker), and what
the Lambda examples use of Lambda's context object."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
import urllib.parse
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
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty moto server; boto3 clients made after this reach it."""
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
    try:
        yield "http://127.0.0.1:%d" % port
    finally:
        server.stop()


@pytest.fixture
def kinesis(moto_endpoint: str) -> Any:
    client = boto3.client("kinesis")
    client.create_stream(StreamName=STREAM, ShardCount=2)
    client.get_waiter("stream_exists").wait(StreamName=STREAM)
    return client


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


class LambdaEndpoint:
    """Lambda's Invoke API (POST /2015-03-31/functions/NAME/invocations) on a local port,
    recording every accepted invocation. `throttle` refuses that many calls first with
    429 TooManyRequestsException, as Lambda does when a function's concurrency is used up."""

    def __init__(self, functions: List[str]) -> None:
        self.functions = set(functions)
        self.invocations: List[Dict[str, Any]] = []  # {"function", "type", "payload"}
        self.throttle = 0
        self.refused = 0
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                match = re.fullmatch(r"/2015-03-31/functions/([^/]+)/invocations",
                                     urllib.parse.unquote(self.path))
                if match is None or match.group(1) not in endpoint.functions:
                    return self.error(404, "ResourceNotFoundException", "Function not found")
                if endpoint.throttle > 0:
                    endpoint.throttle -= 1
                    endpoint.refused += 1
                    return self.error(429, "TooManyRequestsException", "Rate Exceeded.")
                endpoint.invocations.append({
                    "function": match.group(1),
                    "type": self.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                    "payload": json.loads(body)})
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def error(self, status: int, code: str, message: str) -> None:
                data = json.dumps({"Type": "User", "message": message}).encode()
                self.send_response(status)
                self.send_header("x-amzn-ErrorType", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
