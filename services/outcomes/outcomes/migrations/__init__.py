"""The outcomes schema's history: Alembic revisions in versions/, run by the lifespan or
`frontdoor-outcomes migrate` (`migrate --new MESSAGE` writes the next, empty, from the kit's template).

Every table of the service is here in one place: its own (`models.OWN_TABLES`), the KPI read
model's facts (`readmodel.tables.FACT_TABLES`) and the families' chronology (`readmodel.chronology`),
all on one metadata (`METADATA`): what Alembic compares with the database (env.py) and what a
rebuild empties (stream/wipe.py)."""

from frontdoor_platform.database import Schema

from ..models import OWN_TABLES, OutcomesTable
from ..readmodel.chronology import ChronologyEntry
from ..readmodel.tables import FACT_TABLES

SCHEMA = Schema(__path__[0])
migrate = SCHEMA.migrate
TABLES = (*OWN_TABLES, *FACT_TABLES, ChronologyEntry)
METADATA = OutcomesTable.metadata
