"""Import and export at the edges: other formats in, drugwatch records out."""
