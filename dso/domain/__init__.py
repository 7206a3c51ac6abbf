"""The DSO Technical Platform's pure rules and events."""
