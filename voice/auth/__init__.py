"""Identity and access: who is calling (principals) and what they may call (the matrix)."""
