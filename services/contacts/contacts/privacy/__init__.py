"""Privacy requests in the contacts service: `requests` takes a request from a key with the `privacy` role
(the data protection officer's; the person named by NHS number, UPN or name + date of birth + postcode),
finds the people, their families and contacts on the people index, and publishes one `PrivacyRequested`
with ids only in clear; `hooks` is this service's answer to every request (what it holds per retention
class, the erasure and the rectification); `erasure` the queries that blank, delete and find. The HTTP
route is `api`."""
