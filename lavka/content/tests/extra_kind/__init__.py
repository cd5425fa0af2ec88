"""A block kind that exists only in the test settings: proves a kind added outside the
content app flows through the registry, the site and the API."""
