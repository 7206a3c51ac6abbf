"""Market Platform: REST API, session calendar, clearing, final clearing, settlement, KPIs."""
