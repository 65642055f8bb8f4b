"""Sentences for people, stored as facts and said in the reader's language."""
