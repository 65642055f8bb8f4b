"""Fleet changes: one host-alias edit across many services, canary first, in waves."""
