"""A work model and a task that exist only in the test settings: the kernel (claiming,
backoff, the sweeper, the operator page) tested on its own, apart from any app."""
