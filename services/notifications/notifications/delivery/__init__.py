"""Delivery of notifications to their recipients: the persistent queue and
its loop (`queue`), the Standard Webhooks signatures (`signing`), the body a
recipient receives (`payload`) and the channels (`senders`). No FastAPI here:
the loop runs in the worker process, started by the app's `started` hook."""
