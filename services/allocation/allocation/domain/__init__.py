"""Pure allocation rules: no I/O, no framework. Every rule about time takes
the clock (`now`) and the calendar as arguments."""
