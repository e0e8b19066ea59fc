"""Response building and minimisation: only the fields the agreement allows leave the building."""
