"""The contacts schema's history: Alembic revisions in versions/, run by the lifespan or
`frontdoor-contacts migrate` (`migrate --new MESSAGE` writes the next, empty, from the kit's template)."""

from frontdoor_platform.database import Schema

SCHEMA = Schema(__path__[0])
migrate = SCHEMA.migrate
