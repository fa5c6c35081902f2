"""A throwaway S3-compatible server for the tests: moto's server mode on 127.0.0.1.

`S3Server().start()` runs `python -m moto.server` on a free loopback port; `env()` gives
the AWS variables that point any S3 client (boto3, the aws CLI, sohoa) at it.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                         "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("moto's server did not start (pip install 'moto[server]')")
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto's server did not answer on {self.url}")

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "test-only",
                "AWS_SECRET_ACCESS_KEY": "test-only", "AWS_DEFAULT_REGION": "us-east-1"}

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.session.Session().client("s3", endpoint_url=self.url, aws_access_key_id="test-only",
                                       aws_secret_access_key="test-only",
                                       region_name="us-east-1").create_bucket(Bucket=name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
