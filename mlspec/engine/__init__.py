"""The core operations the CLI verbs call: run, plan, verify. The runner does all store I/O."""
