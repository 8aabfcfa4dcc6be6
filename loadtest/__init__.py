"""Load-and-fault test harness: ``python loadtest/run.py --help`` (see README.md here)."""
