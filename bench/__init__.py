"""Benchmark harness: each workload measures this system against a peer measured in the
same run on the same machine, so results are ratios that hold across machines.

Run `python -m bench --size reduced|full`; see docs/PERFORMANCE.md.
"""
