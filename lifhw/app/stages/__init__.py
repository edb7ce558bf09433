"""One module per flow with ``run(out_dir) -> DemoSection``: the stages of ``lifhw demo``."""
