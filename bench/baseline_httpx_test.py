"""Baseline of the connection-test benchmark: a plain httpx.AsyncClient loop.

    python bench/baseline_httpx_test.py URL GUID_FILE --token T --concurrency 16

POSTs {URL}/v1/connections/{guid}/test for every GUID in GUID_FILE (one per line), at most
`concurrency` at once, the same protocol calls `erpsync connections test --all` makes, and
prints one JSON line: how many passed, and the seconds the loop took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx


async def run(url: str, guids: list[str], token: str, concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    gate = asyncio.Semaphore(concurrency)
    passed = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=url + "/v1", headers=headers, timeout=60) as client:

        async def one(guid: str) -> None:
            nonlocal passed
            async with gate:
                answer = await client.post(f"/connections/{guid}/test")
            if answer.json().get("ok"):
                passed += 1

        await asyncio.gather(*(one(g) for g in guids))
    return {"tested": len(guids), "passed": passed, "loop_seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("guid_file")
    parser.add_argument("--token", default="")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with open(args.guid_file, encoding="utf-8") as handle:
        guids = [line.strip() for line in handle if line.strip()]
    print(json.dumps(asyncio.run(run(args.url, guids, args.token, args.concurrency))))


if __name__ == "__main__":
    main()
