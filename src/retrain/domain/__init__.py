"""Pure domain: specs, runs, errors and the ports the service layer talks to."""
