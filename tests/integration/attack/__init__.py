"""The black-box attack run of issue 13: seeded hostile inputs by family over every listener of a
real `swerve serve`, interleaved with good requests whose answers are checked.

- `cases`: what an input is and what answer it must get; `generator` makes input (seed, index);
  the `family_*` modules make one family of hostile inputs each, `family_good` the checked ones.
- `http_transport`, `grpc_transport`, `h2_transport`: send an input and read the answer.
- `verdict`: judges an answer; `runner`: the run (threads, exits and restarts, liveness, RSS);
  `report`: the figures, the JSON report and the reproducers; `soak`: the mixed load of `make soak`.

Run it: `.venv/bin/python -m attack --help` from tests/integration (see __main__).
"""
