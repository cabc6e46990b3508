"""The page for schools' key adults: sign in (the kit's staff pages,
`frontdoor_platform.staff`, set up in `pages.py`), see the school's
notifications (unacknowledged first), open one (the minimum a school is
told) and acknowledge it. Server-rendered HTML (Jinja2), no JavaScript,
mounted at `/page` and kept out of the JSON API's OpenAPI document."""
