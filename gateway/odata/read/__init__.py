"""Reading: query options → bind to the model → plan a SOQL tree → execute it against the source."""
