"""HTTP blueprints: thin views over schemas (parsing), auth/ (rules) and store/ (persistence)."""
