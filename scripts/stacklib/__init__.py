"""Framework behind scripts/stack: a Service per server, pid files, health checks. Stdlib only."""
