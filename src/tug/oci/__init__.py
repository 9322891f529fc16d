"""Pure models of the OCI and Docker specs: digests, descriptors, media types, references, manifests, configs."""
