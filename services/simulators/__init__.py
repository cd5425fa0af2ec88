"""Local stand-ins for the external APIs Lavka talks to, so it runs and is tested offline."""
