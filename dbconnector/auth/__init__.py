"""Who calls and what they may do: roles, passwords, tokens, client addresses, flood control."""
