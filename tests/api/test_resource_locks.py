"""A store that hangs on its first open must not stall warehouse handles (api/deps.Resources keeps one lock each).

The store URL points at a real socket that accepts connections and never answers, as a PostgreSQL host behind a
black-holing firewall does: psycopg waits for its ``connect_timeout``. Meanwhile another thread opens the
warehouse, which must not wait for the store.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from callops.api.deps import Resources

CONNECT_TIMEOUT_S = 6


def test_a_hanging_store_open_does_not_block_the_warehouse(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (the kernel completes the handshake) and never says a word
    port = silent.getsockname()[1]
    res = Resources(store_url=f"postgresql+psycopg://u:p@127.0.0.1:{port}/db?connect_timeout={CONNECT_TIMEOUT_S}",
                    warehouse_url=f"duckdb://{tmp_path / 'wh.duckdb'}")  # fmt: skip
    store_done = threading.Event()
    outcome: list[BaseException | None] = []

    def open_store() -> None:
        try:
            _ = res.store
            outcome.append(None)
        except BaseException as exc:  # the expected failure is the point
            outcome.append(exc)
        finally:
            store_done.set()

    opener = threading.Thread(target=open_store, daemon=True)
    opener.start()
    time.sleep(0.5)
    assert not store_done.is_set(), "the store open should still be waiting for the silent server"
    t0 = time.perf_counter()
    wh = res.open_warehouse()
    waited = time.perf_counter() - t0
    assert wh is not None
    assert waited < 2.0, f"opening the warehouse waited {waited:.1f} s behind the store"
    store_done.wait(CONNECT_TIMEOUT_S + 30)
    assert outcome and outcome[0] is not None  # the store open failed (timed out), it did not hang forever
    res.close()
    silent.close()
