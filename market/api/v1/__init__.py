"""Version 1 of the market REST API: one router per resource."""
