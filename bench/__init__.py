"""Swerve's benchmark (`make bench`, or `.venv/bin/python -m bench [--quick]`).

One module per scenario (in-process ONNX Runtime, perf_analyzer, HTTP JSON, the ramped load
test, liveness under load, start-up and memory), a runner that starts and stops one server at a
time, and a report writer. See bench/README.md.
"""
