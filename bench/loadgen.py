"""Load generator: httpx.AsyncClient, several connections, a fixed number of requests.

    python bench/loadgen.py pages URL --guid G --token T --requests 2000 --connections 8
    python bench/loadgen.py bare URL --token T --requests 2000 --connections 8

`pages` walks GET .../connections/{guid}/actors/customer/changes?limit=100 from the first page,
following each answer's cursor and starting over after the last page (each connection walks
on its own); `bare` asks the constant endpoint. Both only receive the bytes (a page's cursor is
read from its end, the JSON is not parsed), so the load generator does the same work for each.
Prints one JSON line: requests, bytes, seconds, requests per second. Every answer must be
HTTP 200, or it stops with an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx

CURSOR_KEY = b'"cursor":"'


def next_cursor(body: bytes) -> str:
    """The page's cursor, read from the end of the body without parsing the whole JSON, so
    this side does the same work for a page as for a bare answer: receive the bytes."""
    start = body.rfind(CURSOR_KEY)
    if start < 0:
        raise SystemExit(f"no cursor in the answer: {body[-300:]!r}")
    start += len(CURSOR_KEY)
    return body[start : body.index(b'"', start)].decode()


async def run(args: argparse.Namespace) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=None)
    remaining = args.requests
    received = 0

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:

        async def bare() -> None:
            nonlocal remaining, received
            while remaining > 0:
                remaining -= 1
                answer = await client.get(args.url)
                if answer.status_code != 200:
                    raise SystemExit(f"HTTP {answer.status_code}: {answer.text[:300]}")
                received += len(answer.content)

        async def pages() -> None:
            nonlocal remaining, received
            path = f"{args.url}/v1/connections/{args.guid}/actors/customer/changes"
            cursor = ""
            while remaining > 0:
                remaining -= 1
                params = {"limit": str(args.limit), **({"cursor": cursor} if cursor else {})}
                answer = await client.get(path, params=params)
                if answer.status_code != 200:
                    raise SystemExit(f"HTTP {answer.status_code}: {answer.text[:300]}")
                received += len(answer.content)
                cursor = next_cursor(answer.content)

        worker = pages if args.mode == "pages" else bare
        # One request per connection first, so connection set-up is not timed.
        saved, remaining = remaining, args.connections
        await asyncio.gather(*(worker() for _ in range(args.connections)))
        remaining, received = saved, 0
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.connections)))
        seconds = time.perf_counter() - start
    return {
        "requests": args.requests,
        "bytes": received,
        "seconds": round(seconds, 4),
        "requests_per_second": round(args.requests / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["pages", "bare"])
    parser.add_argument("url", help="the connector URL (pages) or the bare endpoint (bare)")
    parser.add_argument("--guid", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--limit", type=int, default=100)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
