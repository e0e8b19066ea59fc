"""ftigate: lawful, minimal and accountable disclosure of Federal Tax Information."""
