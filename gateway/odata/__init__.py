"""OData for the gateway: a protocol-neutral core and the faces that speak a protocol version.

- ``model/``  the publication format, the model built from it and the source's describes, keys and Ids;
- ``read/``   query options → bind → plan (SOQL tree) → execute against the source; paging state;
- ``write/``  payloads, ETags, change sets;
- ``http/``   OData protocol rules that no face owns: errors, source-error mapping, headers, resource
  paths, signed tokens, inbound access (no Flask);
- ``v4/``     the OData 4.0/4.01 face: the Flask blueprint, dispatch, ``$batch``, negotiation, shaping, CSDL.

Imports go downward only: ``v4`` → ``read``/``write`` → ``model`` → ``http`` → ``gateway.soql`` /
``gateway.source``. See ``docs/architecture.md``.
"""
