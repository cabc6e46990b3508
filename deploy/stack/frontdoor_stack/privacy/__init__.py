"""`frontdoor-stack privacy access|erase|rectify`: a subject access, erasure or rectification request sent
to the contacts service, every service's answer read from `privacy.replies.v1`, one export written to a
private directory (`options.py` the person and the corrections, `replies.py` the answers, `export.py` the
export, `command.py` the command)."""
