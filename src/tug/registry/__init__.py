"""The outbound network: talk to OCI distribution registries (resolve, auth, fetch, push).

Modules, in the order a pull uses them: `config` (which hosts, mirrors, TLS, credentials), `auth_store` (docker's
config.json: login/logout), `challenge` (WWW-Authenticate and Retry-After parsing), `auth` (tokens per scope),
`transport` (one HTTP exchange: schemes, redirects, retries, auth), `client` (the registry API), `sink` (where blob
bytes go), `progress` (download events), `parallel` (several blobs at once).

This room imports only `tug.oci` and `tug.errors`: bytes leave through the `sink.BlobSink` protocol, never into
the store directly.

A pull, as the engine drives it::

    cfg = config.load_default(store_root)            # mirrors, TLS, credentials from docker's config.json
    client = RegistryClient(cfg)
    image = client.resolve_image(ref, platform)      # index -> platform manifest, digests verified
    manifest = image.manifest.parse()
    config_bytes = client.fetch_blob_bytes(ref, manifest.config)
    client.fetch_blobs_parallel(ref, missing_layers, sink_factory, on_event=..., on_complete=verify_and_commit)
"""
