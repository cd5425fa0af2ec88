"""Programs that run beside the Lavka platform, each with its own dependencies."""
