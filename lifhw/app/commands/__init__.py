"""One module per flow with ``register(subparsers)``: the subcommands of ``lifhw``."""
