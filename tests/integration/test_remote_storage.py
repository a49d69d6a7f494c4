"""Checkpoints and logs on S3, end to end: an S3 API served by moto on 127.0.0.1, s3fs pointed
at it through the environment. A run writes to s3://, a second process resumes from
``ckpt_path="last"`` there and ends with the weights of an uninterrupted run, and
``load_from_checkpoint`` reads the s3:// file back.

Needs ``s3fs`` and ``moto[server]`` (``nox -s tests`` installs them); skipped without them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("s3fs", reason="the S3 end-to-end test needs s3fs: pip install s3fs")
pytest.importorskip(
    "moto.server", reason="the S3 end-to-end test needs moto: pip install 'moto[server]'"
)

SCRIPT = Path(__file__).parent / "scripts" / "remote_fit.py"
BUCKET = "plkit-test"


@pytest.fixture
def s3_env() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free port of 127.0.0.1 with one bucket; the environment a process
    needs to reach it (fake credentials). The server stops afterwards."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,  # botocore (s3fs)
        "S3_ENDPOINT": endpoint,  # tensorboard's own S3 layer
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield env
    finally:
        server.stop()


def _run(phase: str, root: str, out: Path, env: dict[str, str]) -> dict:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    full_env.update(env)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), phase, root, str(out)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return torch.load(out, weights_only=True)


def _listing(env: dict[str, str]) -> tuple[list[str], Any]:
    import s3fs

    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"]}
    )
    return sorted(path[len(BUCKET) + 1 :] for path in fs.find(BUCKET)), fs


def test_fit_checkpoints_to_s3_and_resumes_exactly(s3_env, tmp_path):
    root = f"s3://{BUCKET}/run"
    part = _run("part", root, tmp_path / "part.pt", s3_env)
    assert part["ckpt_path"] is None
    files, fs = _listing(s3_env)
    assert [f for f in files if "tfevents" not in f] == [
        "run/ck/epoch=0-step=8.ckpt",
        "run/ck/epoch=1-step=16.ckpt",
        "run/ck/last.ckpt",
        # the folder marker tensorboard's S3 layer writes when its writer starts at set-up, as
        # in a Lightning run (the Trainer starts every logger's experiment there)
        "run/lightning_logs/version_0/",
        "run/lightning_logs/version_0/hparams.yaml",
        "run/lightning_logs/version_0/metrics.csv",
    ]
    assert any(f.startswith("run/lightning_logs/version_0/events.out.tfevents.") for f in files)
    assert not any(".tmp" in f for f in files)
    header = fs.cat_file(f"{BUCKET}/run/lightning_logs/version_0/metrics.csv").splitlines()[0]
    assert header == b"epoch,step,train_loss,val_loss"

    resumed = _run("resume", root, tmp_path / "resumed.pt", s3_env)
    assert resumed["ckpt_path"] == f"{root}/ck/last.ckpt"
    full = _run("full", str(tmp_path / "local"), tmp_path / "full.pt", {})
    for name, value in full["fit"].items():
        assert torch.equal(value, resumed["fit"][name]), name
        assert torch.equal(value, resumed["loaded"][name]), name
    files, _ = _listing(s3_env)
    checkpoints = [f for f in files if f.startswith("run/ck/")]
    assert len(checkpoints) == 3 and "run/ck/last.ckpt" in checkpoints  # top 2 + last
    assert resumed["best"].startswith(f"{root}/ck/epoch=")
