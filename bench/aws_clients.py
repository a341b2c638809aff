"""How long making a boto3 client takes: a fresh session each time (what each backend did) beside
common.aws's sessions that share one loader of botocore's data files.

Every backend (SageMaker and Bedrock generators and embedders, the DynamoDB feedback store)
makes its client on first use, from a session of its own. A fresh botocore session parses the
service's JSON model again; the shared loader parses it once per process. No network: clients
are made for a closed port and never called.

    python -m bench.aws_clients [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common.aws import ClientOptions, LazyClient

SERVICES = ("dynamodb", "sagemaker-runtime", "bedrock-runtime")


def fresh(service: str):
    import boto3

    return boto3.session.Session().client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9")


def shared(service: str):
    return LazyClient(
        service, ClientOptions(region="us-east-1", endpoint_url="http://127.0.0.1:9"), error=RuntimeError
    ).get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    shared("dynamodb")  # the shared loader's first parse is paid once per process, like an import
    print(f"load: {os.getloadavg()[0]:.2f}   runs per figure: {args.runs}")
    print(f"{'service':<20} {'fresh session ms':>17} {'shared loader ms':>17} {'ratio':>7}")
    for service in SERVICES:
        times = {"fresh": [], "shared": []}
        for _ in range(args.runs):  # interleaved, so both see the same load
            for name, make in (("fresh", fresh), ("shared", shared)):
                start = time.perf_counter()
                make(service)
                times[name].append(time.perf_counter() - start)
        a, b = (statistics.median(times[k]) * 1000 for k in ("fresh", "shared"))
        print(f"{service:<20} {a:>17.1f} {b:>17.1f} {a / b:>6.1f}x")


if __name__ == "__main__":
    main()
