"""DSO Technical Platform: grid model, forecasts, flexibility requests, technical validation."""
