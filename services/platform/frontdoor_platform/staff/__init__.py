"""Staff pages' sign-in, shared by every service with server-rendered pages
for people (notifications' schools' page, allocation's board and
caseloads, outcomes' chronology).

- Accounts (`accounts.py`): argon2id hashes, checked outside any database
  transaction; no lockout (an outsider could renew it for ever).
- The throttle (`throttle.py`, `signin.py`): a progressive delay per
  account and client address, limits per address and per account, a bound
  on argon2 verifications at once.
- Sessions (`sessions.py`): a random token in an HttpOnly cookie, only its
  SHA-256 kept; absolute and idle timeouts checked on the server at every
  request; a CSRF token per session (`csrf.py`).
- A second factor (`second_factor.py`, `totp.py`), optional: TOTP, its
  secret sealed by the service's sealer.
- One-time set-password links (`links.py`), issued by the service's admin
  API or `accounts add` (`cli.py`).
- The web side (`pages.py`: `StaffPages`; `routes.py`, `factor_routes.py`;
  `errors.py`: HTML error pages under the prefix; templates
  `staff_base.html`, `staff_error.html`, the sign-in pages, the `london`
  filter).

A service declares its three tables with the column mixins (`tables.py`),
makes a `StaffPages`, installs it on its app and guards its own routes with
`Depends(pages.signed_in)` / `Depends(pages.signed_in_with_csrf)`."""

from .config import StaffConfig, StaffPageSettings
from .pages import Elsewhere, StaffPages, StaffTexts
from .second_factor import Sealer
from .sessions import Staff, Stage
from .tables import StaffAccountBase, StaffAccountFields, StaffLinkFields, StaffSessionFields, StaffTables
from .web import london

__all__ = ["Elsewhere", "Sealer", "Staff", "StaffAccountBase", "StaffAccountFields", "StaffConfig", "StaffLinkFields",
           "StaffPageSettings", "StaffPages", "StaffSessionFields", "StaffTables", "StaffTexts", "Stage", "london"]
