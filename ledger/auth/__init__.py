"""Who may call the API: participants' credentials, signed bearer tokens, roles, and the
access each route declares (issue 7)."""
