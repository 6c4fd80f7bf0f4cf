"""Running an untrusted notebook: its kernel, the limits it runs under, and the channel to it."""
