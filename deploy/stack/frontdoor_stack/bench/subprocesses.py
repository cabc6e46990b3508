"""Run a load generator or a Kafka tool to completion, bounded in time,
killed if interrupted; its output, or the caller's error naming what failed."""

from __future__ import annotations

import asyncio


async def run_bounded(command: list[str], timeout: float, error: type[Exception], name: str,
                      env: dict[str, str] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        async with asyncio.timeout(timeout):
            out, _ = await process.communicate()
    except asyncio.CancelledError:
        process.kill()  # interrupted: leave nothing running
        raise
    except TimeoutError:
        process.kill()
        await process.wait()
        raise error(f"{name} did not finish within {timeout:.0f}s") from None
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise error(f"{name} exited with {process.returncode}:\n{text[-2000:]}")
    return text
