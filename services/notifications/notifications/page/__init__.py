"""The page for schools' key adults: sign in, see the school's notifications
(unacknowledged first), open one (the minimum a school is told) and
acknowledge it. Server-rendered HTML (Jinja2), no JavaScript, mounted at
`/page` and kept out of the JSON API's OpenAPI document."""
