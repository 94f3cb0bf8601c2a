"""Built-in adapters; each module registers itself by name in distribute.adapters.registry.BUILTIN."""
