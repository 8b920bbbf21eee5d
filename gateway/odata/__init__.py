"""The OData v4 face of the gateway: parse, bind, plan, execute and shape."""
