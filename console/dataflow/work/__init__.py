"""Background machinery: what is due goes to the broker once; worker identities and beats."""
