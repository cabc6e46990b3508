"""Pure rules of the front door: no I/O, no framework."""
