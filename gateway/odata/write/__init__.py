"""Writing: payloads → Salesforce field values, ETags, change sets as one all-or-none composite call."""
