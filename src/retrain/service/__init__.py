"""Use cases over the ports: start runs, execute a run, promote, list."""
