"""Request -> SQL: identifiers, filter arrays, statements, /query templates."""
