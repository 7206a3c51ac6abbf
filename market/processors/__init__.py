"""Stream processors of the market: the session scheduler, clearing and final clearing."""
