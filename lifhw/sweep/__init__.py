"""Design-space sweeps: many parameter points, in parallel, resumable, with plots.

* :mod:`lifhw.sweep.spec` -- ``circuits/sweeps/*.toml`` -> validated points;
* :mod:`lifhw.sweep.backends` -- :data:`BACKENDS`, one ``evaluate`` per realisation;
* :mod:`lifhw.sweep.engine` -- local worker processes or a Dask cluster;
* :mod:`lifhw.sweep.db` -- the SQLite (WAL) results database and its contract;
* :mod:`lifhw.sweep.worker` -- the worker process protocol (timeouts, no orphans);
* :mod:`lifhw.sweep.export` -- CSV / Parquet export of a database;
* :mod:`lifhw.sweep.demo` -- the sweep stage of ``lifhw demo``;
* :mod:`lifhw.sweep.cli` -- ``lifhw sweep``, ``lifhw sweep export``, ``lifhw plot``.

See docs/sweeps.md.
"""
