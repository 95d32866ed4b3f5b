"""DataLoaders, one instance of each per request, built by `loaders.registry.build_loaders`."""
