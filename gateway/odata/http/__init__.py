"""OData protocol rules shared by every face: errors, headers, resource paths, tokens, access (no Flask)."""
