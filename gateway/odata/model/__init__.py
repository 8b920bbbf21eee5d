"""The published model: the publication format, the model built from it and the source's describes."""
