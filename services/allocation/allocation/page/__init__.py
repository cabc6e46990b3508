"""The allocation service's staff pages under /board: the meeting's board,
a case with its forms, and the caseloads (`pages.py` says how they sign in
and answer; `routes.py` the pages, `forms.py` the moves, `views.py` the
words). Installed by `app.create_app` (`install`)."""

from .pages import PAGES, install

__all__ = ["PAGES", "install"]
