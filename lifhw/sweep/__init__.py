"""Design-space sweeps: many parameter points, in parallel, resumable, with plots.

* :mod:`lifhw.sweep.spec` -- ``circuits/sweeps/*.toml`` -> validated points;
* :mod:`lifhw.sweep.backends` -- :data:`BACKENDS`, one ``evaluate`` per realisation;
* :mod:`lifhw.sweep.engine` -- local worker processes or a Dask cluster;
* :mod:`lifhw.sweep.db` -- the SQLite (WAL) results database and its contract;
* :mod:`lifhw.sweep.worker` -- the worker process protocol (timeouts, no orphans);
* :mod:`lifhw.sweep.export` -- CSV / Parquet export of a database;
* :mod:`lifhw.sweep.plots` -- heat maps, Pareto fronts and f-I families of a database.

The commands (``lifhw sweep``, ``lifhw sweep export``, ``lifhw plot``) and the
demo stage live in the application layer (:mod:`lifhw.app`).

See docs/sweeps.md.
"""
