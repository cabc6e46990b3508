"""Pure rules of family outcomes: no I/O, no framework, no clock (times are
the events' own, or passed in)."""
