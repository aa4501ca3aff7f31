"""The provider's contract and THE client: the only code that speaks HTTP to the provider.

- `contract`: fields, defaults, enums, sizes, paths, headers, content types, price; the form,
  the validation, the offline backend and the tests all read it.
- `errors`: the error hierarchy and key redaction.
- `client`: `FluxClient`, one object holding key, base URL, timeouts and retry policy.
- `snippets`: ready-to-run curl and Python for a request (never with the key).

Imports: none
"""
