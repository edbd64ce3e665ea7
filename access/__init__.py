"""Access: identities, API tokens, and (later) grants, events, signed URLs and audit."""
