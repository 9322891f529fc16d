"""The outbound network: talk to OCI distribution registries (resolve, auth, fetch, push).

Modules, in the order a pull uses them: `config` (which hosts, mirrors, TLS, credentials), `auth_store` (docker's
config.json: login/logout), `challenge` (WWW-Authenticate and Retry-After parsing), `auth` (tokens per scope),
`transport` (one HTTP exchange: schemes, redirects, retries, auth), `client` (the registry API), `sink` (where blob
bytes go), `progress` (download events), `parallel` (several blobs at once).

This room imports only `tug.oci` and `tug.errors`: bytes leave through the `sink.BlobSink` protocol, never into
the store directly.
"""
