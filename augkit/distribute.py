"""Distribution: run the shard function over shards on local processes, Ray or Dask.

The distributor knows nothing about images: it calls `run_shard(config, shard)` and yields
each shard's done-marker as it finishes. Failed shards are retried; what still fails is
reported with how to resume. Cluster libraries are imported only when asked for.
"""

from __future__ import annotations

import logging
import traceback
from typing import Callable, Iterable, Iterator

from augkit.errors import RunFailed, UserError
from augkit.plan import Shard

log = logging.getLogger("augkit")
BACKENDS = ("loky", "ray", "dask")


def _guarded(fn: Callable, config, shard: Shard) -> dict:
    # Exceptions become values so one bad shard does not tear down the whole pool.
    try:
        return fn(config, shard)
    except Exception as exc:  # noqa: BLE001 - reported to the parent and retried there
        return {"shard": shard.index, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def distribute(fn: Callable, config, shards: Iterable[Shard], backend: str = "loky", workers: int = 1,
               address: str | None = None, retries: int = 2) -> Iterator[dict]:
    """Yield fn(config, shard) for every shard, in completion order."""
    shards = list(shards)
    if not shards:
        return
    runner = {"loky": _loky, "ray": _ray, "dask": _dask}.get(backend)
    if runner is None:
        raise UserError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "loky" and address:
        raise UserError("--address is for --backend ray or dask")
    yield from runner(fn, config, shards, workers, address, retries)


def _loky(fn, config, shards, workers, address, retries) -> Iterator[dict]:
    from joblib import Parallel, delayed

    todo = shards
    for attempt in range(retries + 1):
        failed = []
        if workers <= 1:
            results = (_guarded(fn, config, s) for s in todo)
        else:
            results = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered",
                               pre_dispatch="2*n_jobs")(delayed(_guarded)(fn, config, s) for s in todo)
        by_index = {s.index: s for s in todo}
        for result in results:
            if "error" in result:
                log.warning("shard %d failed (attempt %d): %s", result["shard"], attempt + 1, result["error"])
                log.debug(result["traceback"])
                failed.append(by_index[result["shard"]])
            else:
                yield result
        if not failed:
            return
        todo = sorted(failed, key=lambda s: s.index)
    raise RunFailed(f"{len(todo)} shard(s) kept failing (first: shard {todo[0].index}); "
                    "fix the cause and run the same command again to resume")


def _ray(fn, config, shards, workers, address, retries) -> Iterator[dict]:
    try:
        import ray
    except ImportError:
        raise UserError("--backend ray needs Ray: pip install 'augkit[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        # With no address Ray starts a local cluster; with one it joins the existing cluster.
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, ignore_reinit_error=True)
    try:
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(fn)
        config_ref = ray.put(config)
        pending = {task.remote(config_ref, s): s for s in shards}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                shard = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - Ray already retried it
                    raise RunFailed(f"shard {shard.index} failed on the Ray cluster after {retries} retries: {exc}; "
                                    "run the same command again to resume") from None
    finally:
        if started_here:
            ray.shutdown()


def _dask(fn, config, shards, workers, address, retries) -> Iterator[dict]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("--backend dask needs Dask: pip install 'augkit[dask]'") from None
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        [config_future] = client.scatter([config], broadcast=True)
        futures = client.map(fn, [config_future] * len(shards), shards, retries=retries, pure=False)
        index_of = {f.key: s.index for f, s in zip(futures, shards)}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - Dask already retried it
                raise RunFailed(f"shard {index_of[future.key]} failed on the Dask cluster after {retries} retries: "
                                f"{exc}; run the same command again to resume") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
