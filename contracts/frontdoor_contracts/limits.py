"""What one record may cost, set once for every producer, consumer, topic and
HTTP edge: a record the producer takes always fits the broker, and a record a
consumer reads is bounded before it is parsed."""

from __future__ import annotations

# The largest record on the wire, key, value and headers included: the producer's `max_request_size`
# and every topic's `max.message.bytes` (and the broker's `message.max.bytes`) are this, equally.
MAX_RECORD_BYTES = 1_048_576
# Room kept for the envelope, the key and the headers: a payload the contracts accept stays under this.
MAX_PAYLOAD_BYTES = MAX_RECORD_BYTES - 64 * 1024
# How deep a JSON document may nest: orjson refuses deeper (its own fixed limit, 1024); the contracts
# nest fewer than 10 levels, so a depth past this is never an honest record.
MAX_JSON_DEPTH = 1024
# The largest HTTP request body any service reads (its settings may lower it): above the largest body the
# contracts accept, far below what would cost the service real memory to parse. The largest is a contact at every
# cap (`largest.largest_contact()`: 30 children, 30 adults, every concern, a DA incident naming every child, every
# string at its cap in four-byte characters): measured 78,055 bytes as compact UTF-8 JSON, 213,833 \u-escaped
# (Python's json.dumps), 222,345 escaped and indented by four. The rest is room for a sender's whitespace.
MAX_BODY_BYTES = 256 * 1024
