"""The workspace a comms team keeps: config.toml, channel files, the settings schema, `init`."""
