"""The stdlib AWS SigV4 signer scripts/stack uses for MinIO, against AWS's published S3 examples."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from stacklib.services.minio import sigv4_headers

# docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Examples".
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "examplebucket.s3.amazonaws.com"
NOW = dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc)


def _sig(query: str) -> str:
    auth = sigv4_headers("GET", HOST, "/", KEY, SECRET, query=query, now=NOW)["Authorization"]
    return auth.rsplit("Signature=", 1)[1]


def test_get_bucket_lifecycle_example():
    assert _sig("lifecycle=") == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"


def test_list_objects_example():
    assert _sig("max-keys=2&prefix=J") == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"


def test_headers():
    h = sigv4_headers("PUT", "127.0.0.1:9000", "/b", "k", "s", now=NOW)
    assert h["x-amz-date"] == "20130524T000000Z"
    assert h["x-amz-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert h["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=k/20130524/us-east-1/s3/aws4_request, ")
