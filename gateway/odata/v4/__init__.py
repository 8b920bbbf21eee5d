"""The OData 4.0/4.01 face: a Flask blueprint translating HTTP into core calls and results into JSON/CSDL."""
