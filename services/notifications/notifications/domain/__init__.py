"""Pure rules of school notifications: no I/O, no framework, no clock."""
